package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// configuredData extracts the providerData that Configure handed over. It returns nil, with no
// diagnostic, while the provider is not configured yet (Terraform validates before it configures).
func configuredData(in any, diags *diag.Diagnostics) *providerData {
	if in == nil {
		return nil
	}
	d, ok := in.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", in))
		return nil
	}
	return d
}

// addNotConfigured reports a resource used before Configure ran: a bug, never a user error.
func addNotConfigured(diags *diag.Diagnostics) {
	diags.AddError("Provider not configured",
		"The ec2k8s provider was not configured before this resource was used. This is a bug in the provider; please report it.")
}
