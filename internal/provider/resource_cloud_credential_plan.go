package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// ValidateConfig allows at most one way of authenticating and checks that its pieces come
// together: access_key with secret_key (and session_token only with them), role_arn in
// assume_role.
func (r *cloudCredentialResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m cloudCredentialResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var given []string
	for name, v := range map[string]interface{ IsNull() bool }{"access_key": m.AccessKey, "profile": m.Profile, "assume_role": m.AssumeRole} {
		if !v.IsNull() {
			given = append(given, name)
		}
	}
	if len(given) > 1 {
		slices.Sort(given)
		resp.Diagnostics.AddAttributeError(path.Root(given[1]), "Conflicting authentication settings",
			fmt.Sprintf("%s are set together; give exactly one way of authenticating: access_key with secret_key, "+
				"profile, or assume_role (or none of them, for the SDK's default chain).", strings.Join(given, " and ")))
	}
	if !m.AssumeRole.IsNull() && !m.AssumeRole.IsUnknown() {
		if ra, ok := m.AssumeRole.Attributes()["role_arn"]; !ok || ra.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("assume_role").AtName("role_arn"), "Missing role_arn", "assume_role needs role_arn: the ARN of the role to assume.")
		}
	}
	if !m.AccessKey.IsNull() && m.SecretKey.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("secret_key"), "Missing secret_key", "access_key is set without secret_key: give both.")
	}
	if m.AccessKey.IsNull() && !m.SecretKey.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("access_key"), "Missing access_key", "secret_key is set without access_key: give both.")
	}
	if m.AccessKey.IsNull() && !m.SessionToken.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("session_token"), "session_token without keys", "session_token only goes with access_key and secret_key.")
	}
}

// ModifyPlan keeps the identity known while the authentication settings are unchanged; when they
// change (key rotation) only arn and user_id become unknown: account_id must stay the same.
func (r *cloudCredentialResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var plan, state cloudCredentialResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.AccountID.IsNull() {
		return // just imported: nothing is known about the identity yet
	}
	plan.AccountID = state.AccountID
	if plan.authEqual(state.cloudCredentialModel) {
		plan.ARN, plan.UserID = state.ARN, state.UserID
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}
