// Package info maps the upstream Terraform docker provider onto the Pulumi package `docker`, the way the
// @pulumi/docker SDK addresses it: resource tokens `docker:index/<name>:<Name>` and the property names the SDK
// sends. pulumi/pulumi-docker keeps the same mapping in provider/resources.go; its Go module is not served by
// the module proxy these machines reach, so this is our own statement of the parts our program relies on.
package info

import (
	"strings"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	bridgetokens "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-docker/shim"
)

// Provider is the bridge's description of the docker package at the given version.
func Provider(version string) tfbridge.ProviderInfo {
	prov := tfbridge.ProviderInfo{
		P:         shimv2.NewProvider(shim.NewProvider(version)),
		Name:      "docker",
		Version:   version,
		License:   "Apache-2.0",
		GitHubOrg: "kreuzwerker",
		Config: map[string]*tfbridge.SchemaInfo{
			// `docker:host` falls back to DOCKER_HOST, as the upstream provider's own default does.
			"host":          {Default: &tfbridge.DefaultInfo{EnvVars: []string{"DOCKER_HOST"}}},
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": {
				Tok: resource("Container"),
				// A container has a fixed name: the old one must go before the new one can take it.
				DeleteBeforeReplace: true,
				Fields: map[string]*tfbridge.SchemaInfo{
					// Lists the SDK names in the singular: one command, one set of network attachments.
					"command":           {Name: "command"},
					"networks_advanced": {Name: "networksAdvanced"},
				},
			},
			"docker_image": {
				Tok:    resource("RemoteImage"),
				Fields: map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}},
			},
			"docker_config": {Tok: resource("ServiceConfig")},
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: tokens.ModuleMember("docker:index/getRemoteImage:getRemoteImage")},
		},
	}
	prov.MustComputeTokens(bridgetokens.SingleModule("docker_", "index", bridgetokens.MakeStandard("docker")))
	prov.SetAutonaming(255, "-")
	return prov
}

// resource is the token of a resource in the package's only module, `docker:index/<name>:<Name>`.
func resource(name string) tokens.Type {
	return tokens.Type("docker:index/" + strings.ToLower(name[:1]) + name[1:] + ":" + name)
}
