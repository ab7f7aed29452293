// Package shim exposes the constructor of the upstream Terraform docker provider
// (kreuzwerker/terraform-provider-docker internal/provider) to the bridge glue, which Go's internal-package rule
// would otherwise keep out.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the upstream SDKv2 provider (containers, images, networks, volumes, ...).
func NewProvider(version string) *schema.Provider {
	return provider.New(version)()
}
