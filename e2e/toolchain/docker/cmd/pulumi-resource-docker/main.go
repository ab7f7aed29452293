// pulumi-resource-docker serves the upstream Terraform docker provider through the Pulumi Terraform bridge.
// The build writes schema-embed.json next to this file (the tfgen schema with the version set) before compiling.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"supabase-selfhosted/e2e/toolchain/docker/info"
)

//go:embed schema-embed.json
var schema []byte

// version is set with -ldflags "-X main.version=…" to the @pulumi/docker version the program pins.
var version = "0.0.0-dev"

func main() {
	tfbridge.Main("docker", version, info.Provider(version), schema)
}
