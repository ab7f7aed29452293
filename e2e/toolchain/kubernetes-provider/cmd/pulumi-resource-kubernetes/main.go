// pulumi-resource-kubernetes: the Pulumi Kubernetes provider (github.com/pulumi/pulumi-kubernetes/provider/v4),
// served as its own main does (provider/cmd/pulumi-resource-kubernetes/main.go). That main embeds files its
// `go generate` step writes next to it, so it cannot be built from the module cache: the build writes them here
// (schema-embed.json: the provider's schema.json with the version set; terraform-mapping-embed.json) before
// compiling this package.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	// version.Version is set with -ldflags "-X …/pkg/version.Version=…" to the @pulumi/kubernetes version.
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
