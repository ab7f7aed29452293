// Caddy (github.com/caddyserver/caddy/v2) for the suite's caddy image, built as Caddy's own cmd/caddy/main.go
// builds it: the command line of caddycmd with the standard modules plugged in, nothing else.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// The standard modules: the Caddyfile adapter, the HTTP server, reverse_proxy, TLS and the rest of what the
	// official binary ships (github.com/caddyserver/caddy/v2 modules/standard/imports.go).
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
