package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// importByName is the ImportState of a resource that lives only in state (a cloud credential, a
// node template, a cluster): the import ID is the resource's name, checked with validate, and
// becomes its id and name; the next apply sets everything else from the configuration. what
// names the resource in the error, "a node template" say. ok is false after an error.
func importByName(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse, what string, validate func(string) error) (ok bool) {
	if err := validate(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", "Import "+what+" by its name: "+err.Error())
		return false
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	return !resp.Diagnostics.HasError()
}
