package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// ValidateConfig checks what depends on the distribution (version, network plugin and policy,
// bootstrap settings) and that no member is listed twice.
func (r *clusterResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m clusterModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Distribution.IsUnknown() {
		return
	}
	dist := m.Distribution.ValueString()
	if dist == "" {
		dist = "rke2"
	}
	if bootstrap.ValidateDistribution(dist) != nil {
		return
	}
	if !m.KubernetesVersion.IsNull() && !m.KubernetesVersion.IsUnknown() {
		if err := bootstrap.ValidateVersion(dist, m.KubernetesVersion.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("kubernetes_version"), "Invalid kubernetes_version", err.Error())
		}
	}
	plugin := bootstrap.DefaultNetworkPlugin(dist)
	if !m.NetworkPlugin.IsNull() && !m.NetworkPlugin.IsUnknown() {
		plugin = m.NetworkPlugin.ValueString()
		if err := bootstrap.ValidateNetworkPlugin(dist, plugin); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("network_plugin"), "Invalid network_plugin", err.Error())
		}
	}
	if !m.EnableNetworkPolicy.IsUnknown() && !m.NetworkPlugin.IsUnknown() {
		if err := bootstrap.CheckNetworkPolicy(dist, plugin, m.EnableNetworkPolicy.ValueBool()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("enable_network_policy"), "Invalid enable_network_policy", err.Error())
		}
	}
	r.validateBootstrap(ctx, m, dist, resp)
	if !m.APIServerURL.IsNull() && !m.APIServerURL.IsUnknown() && !m.RegistrationAddress.IsUnknown() {
		if err := bootstrap.CheckAPIHost(m.APIServerURL.ValueString(), m.RegistrationAddress.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeWarning(path.Root("api_server_url"), "api_server_url is not in the servers' certificates", err.Error())
		}
	}
	if !m.Members.IsNull() && !m.Members.IsUnknown() {
		var members []memberModel
		resp.Diagnostics.Append(m.Members.ElementsAs(ctx, &members, false)...)
		seen := map[string]bool{}
		for _, mem := range members {
			if n := mem.Name.ValueString(); !mem.Name.IsUnknown() && seen[n] {
				resp.Diagnostics.AddAttributeError(path.Root("members"), "Duplicate member", fmt.Sprintf("%q is listed twice: give each user one role.", n))
			} else {
				seen[n] = true
			}
		}
	}
}

// validateBootstrap checks the bootstrap settings that need several attributes or the
// distribution.
func (r *clusterResource) validateBootstrap(ctx context.Context, m clusterModel, dist string, resp *resource.ValidateConfigResponse) {
	if !m.ContainerRuntime.IsNull() && !m.ContainerRuntime.IsUnknown() {
		if err := bootstrap.ValidateContainerRuntime(dist, m.ContainerRuntime.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("container_runtime"), "Invalid container_runtime", err.Error())
		}
	}
	if !m.InstallEnv.IsNull() && !m.InstallEnv.IsUnknown() {
		env := map[string]string{}
		resp.Diagnostics.Append(m.InstallEnv.ElementsAs(ctx, &env, false)...)
		for _, err := range bootstrap.ValidateInstallEnv(dist, env) {
			resp.Diagnostics.AddAttributeError(path.Root("install_env"), "Invalid install_env", err.Error())
		}
	}
	cidr, svc, dns := m.ClusterCIDR, m.ServiceCIDR, m.ClusterDNS
	if !cidr.IsUnknown() && !svc.IsUnknown() && !dns.IsUnknown() {
		or := func(v types.String, def string) string {
			if v.IsNull() {
				return def
			}
			return v.ValueString()
		}
		if err := bootstrap.CheckNetwork(or(cidr, bootstrap.DefaultClusterCIDR), or(svc, bootstrap.DefaultServiceCIDR), or(dns, bootstrap.DefaultClusterDNS)); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("cluster_dns"), "Invalid cluster network", err.Error())
		}
	}
	if !m.EtcdSnapshot.IsNull() && !m.EtcdSnapshot.IsUnknown() {
		var snap etcdSnapshotModel
		resp.Diagnostics.Append(m.EtcdSnapshot.As(ctx, &snap, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true})...)
		if snap.S3Bucket.IsNull() && (!snap.S3Folder.IsNull() || !snap.S3Region.IsNull() || !snap.S3Endpoint.IsNull()) {
			resp.Diagnostics.AddAttributeError(path.Root("etcd_snapshot").AtName("s3_bucket"), "Missing s3_bucket",
				"s3_folder, s3_region and s3_endpoint say where in a bucket the snapshots go: set s3_bucket too, or remove them.")
		}
	}
}

// ModifyPlan fills the distribution's defaults and refuses changes a running cluster cannot take.
func (r *clusterResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config clusterModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() || plan.Distribution.IsUnknown() {
		return
	}
	dist := plan.Distribution.ValueString()
	if config.KubernetesVersion.IsNull() {
		plan.KubernetesVersion = types.StringValue(bootstrap.DefaultVersion(dist))
	}
	if config.NetworkPlugin.IsNull() {
		plan.NetworkPlugin = types.StringValue(bootstrap.DefaultNetworkPlugin(dist))
	}
	if config.InstallScriptURL.IsNull() {
		plan.InstallScriptURL = types.StringValue(bootstrap.DefaultInstallScriptURL(dist))
	}
	plan.State = types.StringValue(clusterStateProvisioning)
	plan.ID = plan.Name
	if !req.State.Raw.IsNull() {
		var state clusterModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if state.Secrets.IsNull() {
			plan.Secrets, plan.ClusterCACertificate = types.StringNull(), types.StringNull() // imported: none to keep
		}
		if state.KubernetesVersion.IsNull() {
			// Just imported: keep what the configuration or defaults say.
			resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
			return
		}
		if config.KubernetesVersion.IsNull() {
			// NO-OP on defaults: a newer provider's default must not upgrade a running cluster.
			plan.KubernetesVersion = state.KubernetesVersion
		}
		if !plan.Distribution.Equal(state.Distribution) {
			resp.Diagnostics.AddAttributeError(path.Root("distribution"), "Cannot change distribution",
				fmt.Sprintf("Cluster %q runs %s; a running cluster cannot move to %s. Create a new cluster (a new name) instead.",
					plan.Name.ValueString(), state.Distribution.ValueString(), dist))
		}
		if !plan.NetworkPlugin.IsUnknown() && !plan.NetworkPlugin.Equal(state.NetworkPlugin) {
			resp.Diagnostics.AddAttributeError(path.Root("network_plugin"), "Cannot change network_plugin",
				fmt.Sprintf("Cluster %q was built with %s; the network plugin cannot change after the first boot. Create a new cluster to use %s.",
					plan.Name.ValueString(), state.NetworkPlugin.ValueString(), plan.NetworkPlugin.ValueString()))
		}
		for _, fixed := range []struct {
			name        string
			plan, state types.String
			why         string
		}{
			{"cluster_cidr", plan.ClusterCIDR, state.ClusterCIDR, "every server must have the same pod network"},
			{"service_cidr", plan.ServiceCIDR, state.ServiceCIDR, "every server must have the same service network"},
			{"cluster_dns", plan.ClusterDNS, state.ClusterDNS, "every server must have the same DNS address"},
			{"container_runtime", plan.ContainerRuntime, state.ContainerRuntime, "the nodes run their containers on it"},
		} {
			if !fixed.plan.IsUnknown() && !fixed.state.IsNull() && !fixed.plan.Equal(fixed.state) {
				resp.Diagnostics.AddAttributeError(path.Root(fixed.name), "Cannot change "+fixed.name,
					fmt.Sprintf("Cluster %q was created with %s = %s, and %s: it cannot change on a running cluster. Keep %s, or create a new cluster.",
						plan.Name.ValueString(), fixed.name, fixed.state.ValueString(), fixed.why, fixed.state.ValueString()))
			}
		}
		if !plan.KubernetesVersion.IsUnknown() {
			if err := bootstrap.CheckUpgrade(dist, state.KubernetesVersion.ValueString(), plan.KubernetesVersion.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("kubernetes_version"), "Unsupported Kubernetes version change", err.Error())
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}
