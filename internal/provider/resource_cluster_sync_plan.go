package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/kubeapi"
)

// ModifyPlan keeps the access as it is unless a certificate must be issued again (under 30 days
// left, a new member) or the API's address changes.
func (r *clusterSyncResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state clusterSyncModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if req.State.Raw.IsNull() {
		// A new sync: the plan shows the URL it will use when the inputs are known.
		if url, ok, _ := plan.apiServerURL(ctx); ok && !resp.Diagnostics.HasError() {
			plan.APIServerURL = types.StringValue(url)
			resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		}
		return
	}
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	members, known := plan.members(ctx)
	renewAdmin, renewMembers := certRenewals(state.ClientCertificate.ValueString(), state.MemberCertificates.Elements(), members, known, time.Now())
	if renewAdmin {
		plan.ClientCertificate, plan.ClientKey, plan.Kubeconfig = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	}
	if url, ok, _ := plan.apiServerURL(ctx); ok {
		plan.APIServerURL = types.StringValue(url)
		if url != state.APIServerURL.ValueString() {
			plan.Kubeconfig = types.StringUnknown()
		}
	} else {
		plan.APIServerURL, plan.Kubeconfig = types.StringUnknown(), types.StringUnknown()
	}
	if renewMembers {
		plan.MemberCertificates, plan.MemberKubeconfigs = types.MapUnknown(types.StringType), types.MapUnknown(types.StringType)
	} else {
		plan.MemberCertificates, plan.MemberKubeconfigs = state.MemberCertificates, state.MemberKubeconfigs
	}
	changed := !plan.Cluster.Equal(state.Cluster) || !plan.NodePools.Equal(state.NodePools)
	if changed {
		plan.Nodes, plan.Projects, plan.State = types.ListUnknown(types.ObjectType{AttrTypes: syncNodeAttrTypes}),
			types.ListUnknown(types.ObjectType{AttrTypes: projectAttrTypes}), types.StringUnknown()
	} else {
		plan.Nodes, plan.Projects = state.Nodes, state.Projects
	}
	// An update reads the version the API reports again (an upgrade, or one made outside
	// Terraform), so the plan cannot promise the old one; a plan with no update keeps it.
	updates := changed || renewAdmin || renewMembers || !plan.APIServerURL.Equal(state.APIServerURL) || !plan.Timeouts.Equal(state.Timeouts)
	if updates {
		plan.KubernetesVersion = types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// certRenewals says which certificates an apply issues again: the admin's when under 30 days
// remain; the members' when the member list is unknown or changed, or any member's certificate
// is missing or under 30 days from its end.
func certRenewals(admin string, current map[string]attr.Value, members []kubeapi.Member, known bool, now time.Time) (renewAdmin, renewMembers bool) {
	renewMembers = !known || len(members) != len(current)
	for _, m := range members {
		cert, ok := current[m.Name].(types.String)
		if !ok || bootstrap.NeedsRenewal(cert.ValueString(), now) {
			renewMembers = true
		}
	}
	return bootstrap.NeedsRenewal(admin, now), renewMembers
}
