package provider

import (
	"context"
	"errors"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// TestImportByName: a valid name becomes the id and the name of the imported state; an invalid
// one is an error that says what to import by, and sets nothing.
func TestImportByName(t *testing.T) {
	ctx := context.Background()
	s := resourceSchema(&nodeTemplateResource{})
	validate := func(s string) error {
		if s == "Bad Name" {
			return errors.New(`"Bad Name" is not a name`)
		}
		return nil
	}
	for _, tc := range []struct {
		id, wantName, wantErr string
	}{
		{"ubuntu", "ubuntu", ""},
		{"Bad Name", "", `Import a node template by its name: "Bad Name" is not a name`},
	} {
		t.Run(tc.id, func(t *testing.T) {
			resp := resource.ImportStateResponse{State: tfsdk.State{Schema: s, Raw: tftypes.NewValue(s.Type().TerraformType(ctx), nil)}}
			ok := importByName(ctx, resource.ImportStateRequest{ID: tc.id}, &resp, "a node template", validate)
			var detail string
			if resp.Diagnostics.HasError() {
				detail = resp.Diagnostics[0].Detail()
			}
			if ok != (tc.wantErr == "") || detail != tc.wantErr {
				t.Fatalf("ok %v, error %q; want ok %v, error %q", ok, detail, tc.wantErr == "", tc.wantErr)
			}
			var id, name types.String
			resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("id"), &id)...)
			resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("name"), &name)...)
			if id.ValueString() != tc.wantName || name.ValueString() != tc.wantName {
				t.Errorf("imported id %s, name %s; want both %q", id, name, tc.wantName)
			}
		})
	}
}
