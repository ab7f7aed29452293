// pulumi-tfgen-docker writes the Pulumi schema of the bridged docker provider (`schema --out <dir>`), which the
// provider binary then embeds, as pulumi/pulumi-docker's own build does with its generated schema.
package main

import (
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"supabase-selfhosted/e2e/toolchain/docker/info"
)

func main() {
	version := os.Getenv("PROVIDER_VERSION")
	tfgen.Main("docker", version, info.Provider(version))
}
