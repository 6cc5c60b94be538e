package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

func (r *cloudCredentialResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m cloudCredentialResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.verify(ctx, &m, "", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *cloudCredentialResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, prior cloudCredentialResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.verify(ctx, &m, prior.AccountID.ValueString(), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// verify asks STS who the credential is and fills in the identity. wantAccount, when set, is the
// account the credential had before: another one is refused.
func (r *cloudCredentialResource) verify(ctx context.Context, m *cloudCredentialResourceModel, wantAccount string, diags *diag.Diagnostics) {
	if r.data == nil {
		addNotConfigured(diags)
		return
	}
	creds, d := m.credentials(ctx)
	diags.Append(d...)
	if d.HasError() {
		return
	}
	id, err := r.data.aws.Identity(ctx, creds)
	if err != nil {
		diags.AddError("Cloud credential rejected",
			fmt.Sprintf("Cloud credential %q could not be verified with STS GetCallerIdentity. Check the keys, "+
				"profile or role, and the provider's endpoints.sts.\n\n%s", m.Name.ValueString(), err))
		return
	}
	if wantAccount != "" && id.AccountID != wantAccount {
		diags.AddError("Cloud credential changed accounts",
			fmt.Sprintf("Cloud credential %q belonged to account %s, but its new settings are of account %s (%s). "+
				"A credential keeps its account for its life, because templates and pools made with it live there. "+
				"To use the other account, give the credential a new name (which replaces it), or go back to keys of %s.",
				m.Name.ValueString(), wantAccount, id.AccountID, id.ARN, wantAccount))
		return
	}
	m.ID = m.Name
	m.AccountID = types.StringValue(id.AccountID)
	m.ARN = types.StringValue(id.ARN)
	m.UserID = types.StringValue(id.UserID)
	tflog.Info(ctx, "validated cloud credential", map[string]any{
		"name": m.Name.ValueString(), "region": m.Region.ValueString(), "auth": creds.Method(),
		"account_id": id.AccountID, "arn": id.ARN,
	})
}

// Read has nothing to refresh: the credential is not an AWS object, and its identity was checked
// when it was last applied.
func (r *cloudCredentialResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {
	// NO-OP: the response starts as the prior state, which is all there is.
}

func (r *cloudCredentialResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
	// NO-OP: nothing exists on AWS; removing it from state is all there is.
}
