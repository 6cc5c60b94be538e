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
	pki, caKnown := plan.clusterPKI(ctx)
	renewAdmin, renewMembers := certRenewals(state.ClientCertificate.ValueString(), state.MemberCertificates.Elements(), members, known, time.Now(), pki, caKnown)
	if renewAdmin {
		plan.ClientCertificate, plan.ClientKey, plan.Kubeconfig = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	}
	// A cluster created again under the same name has a CA set of its own.
	switch {
	case !caKnown:
		plan.ClusterCACertificate, plan.Kubeconfig = types.StringUnknown(), types.StringUnknown()
	case pki != nil && pki.ServerCABundle() != state.ClusterCACertificate.ValueString():
		plan.ClusterCACertificate, plan.Kubeconfig = types.StringValue(pki.ServerCABundle()), types.StringUnknown()
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
	updates := changed || renewAdmin || renewMembers || !plan.APIServerURL.Equal(state.APIServerURL) ||
		!plan.ClusterCACertificate.Equal(state.ClusterCACertificate) || !plan.Timeouts.Equal(state.Timeouts)
	if updates {
		plan.KubernetesVersion = types.StringUnknown()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// certRenewals says which certificates an apply issues again: the admin's when under 30 days
// remain; the members' when the member list is unknown or changed, or any member's certificate
// is missing or under 30 days from its end. Every certificate is issued again when the cluster's
// CA set is unknown at plan (the cluster is being replaced) or did not sign it (the cluster was
// created again under the same name); pki is nil when the cluster has no CA keys in its state.
func certRenewals(admin string, current map[string]attr.Value, members []kubeapi.Member, known bool, now time.Time, pki *bootstrap.PKI, caKnown bool) (renewAdmin, renewMembers bool) {
	if !caKnown {
		return true, true
	}
	renewMembers = !known || len(members) != len(current)
	for _, m := range members {
		cert, ok := current[m.Name].(types.String)
		if !ok || !keepCert(cert.ValueString(), now, pki) {
			renewMembers = true
		}
	}
	return !keepCert(admin, now, pki), renewMembers
}

// keepCert says whether a client certificate already issued serves another apply: more than 30
// days left, and signed by the cluster's client CA as it is now (pki nil: nothing to check it by).
func keepCert(cert string, now time.Time, pki *bootstrap.PKI) bool {
	return !bootstrap.NeedsRenewal(cert, now) && (pki == nil || pki.SignedClientCert(cert))
}
