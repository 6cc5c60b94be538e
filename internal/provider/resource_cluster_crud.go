package provider

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	pki, err := bootstrap.NewPKI(rand.Reader, time.Now(), m.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot make the cluster's CA set", err.Error())
		return
	}
	secrets, err := pki.Encode()
	if err != nil {
		resp.Diagnostics.AddError("Cannot make the cluster's CA set", err.Error())
		return
	}
	m.Secrets, m.ClusterCACertificate = types.StringValue(secrets), types.StringValue(pki.ServerCABundle())
	tflog.Info(ctx, "made the cluster's CA set and join tokens", map[string]any{"cluster": m.Name.ValueString()})
	r.save(ctx, m, &resp.State, &resp.Diagnostics)
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.save(ctx, m, &resp.State, &resp.Diagnostics)
}

// save stores the planned cluster: it is all settings, kept in state for the node pools.
func (r *clusterResource) save(ctx context.Context, m clusterModel, state *tfsdk.State, diags *diag.Diagnostics) {
	tflog.Info(ctx, "saved cluster settings", map[string]any{
		"cluster": m.Name.ValueString(), "distribution": m.Distribution.ValueString(),
		"kubernetes_version": m.KubernetesVersion.ValueString(), "network_plugin": m.NetworkPlugin.ValueString(),
	})
	diags.Append(state.Set(ctx, &m)...)
}

// Read has nothing to refresh: the cluster's settings live in state; its machines are read by
// the node pools.
func (r *clusterResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {
	// NO-OP: the response starts as the prior state, which is all there is.
}

func (r *clusterResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
	// NO-OP: the cluster owns nothing on AWS; its pools delete their machines.
}
