// pulumi-resource-random serves the upstream Terraform random provider through the Pulumi Terraform bridge.
// The build writes schema-embed.json next to this file (the tfgen schema with the version set) before compiling.
package main

import (
	"context"
	_ "embed"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"supabase-selfhosted/e2e/toolchain/random/info"
)

//go:embed schema-embed.json
var schema []byte

// version is set with -ldflags "-X main.version=…" to the @pulumi/random version the program pins.
var version = "0.0.0-dev"

func main() {
	pf.Main(context.Background(), "random", info.Provider(version), pf.ProviderMetadata{PackageSchema: schema})
}
