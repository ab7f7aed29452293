// Package shim exposes the constructor of the upstream Terraform random provider
// (hashicorp/terraform-provider-random internal/provider) to the bridge glue, which Go's internal-package rule
// would otherwise keep out.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	upstream "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream plugin-framework provider (random_password, random_string, ...).
func NewProvider() provider.Provider {
	return upstream.New()
}
