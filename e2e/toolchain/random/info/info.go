// Package info maps the upstream Terraform random provider onto the Pulumi package `random` the way the
// @pulumi/random SDK addresses it: `random_password` is `random:index/randomPassword:RandomPassword`, every
// resource named `Random<Name>` in module `index`. pulumi/pulumi-random keeps the same mapping in
// provider/resources.go; its Go module is not served by the module proxy these machines reach, so this is our
// own statement of it.
package info

import (
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// Provider is the bridge's description of the random package at the given version.
func Provider(version string) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:         pf.ShimProvider(shim.NewProvider()),
		Name:      "random",
		Version:   version,
		License:   "Apache-2.0",
		GitHubOrg: "hashicorp",
		// The plugin-framework bridge requires metadata; there is no alias history to carry, so it starts empty.
		MetadataInfo: tfbridge.NewProviderMetadata([]byte("{}")),
	}
	named := func(module, name string) (string, error) {
		return tokens.MakeStandard("random")(module, "Random"+name)
	}
	prov.MustComputeTokens(tokens.SingleModule("random_", "index", named))
	return prov
}
