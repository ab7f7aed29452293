// pulumi-tfgen-random writes the Pulumi schema of the bridged random provider (`schema --out <dir>`), which the
// provider binary then embeds.
package main

import (
	"os"

	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"
	"supabase-selfhosted/e2e/toolchain/random/info"
)

func main() {
	pftfgen.Main("random", info.Provider(os.Getenv("PROVIDER_VERSION")))
}
