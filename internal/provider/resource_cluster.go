package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

var (
	_ resource.ResourceWithImportState    = (*clusterResource)(nil)
	_ resource.ResourceWithValidateConfig = (*clusterResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*clusterResource)(nil)
)

func newClusterResource() resource.Resource { return &clusterResource{} }

// clusterResource is a cluster's identity and settings. It creates nothing on AWS by itself:
// node pools make the machines.
type clusterResource struct{}

// ClusterStateProvisioning is the state of a cluster until readiness is checked.
const clusterStateProvisioning = "provisioning"

type clusterModel struct {
	ID                  types.String `tfsdk:"id"`
	Name                types.String `tfsdk:"name"`
	CloudCredential     types.Object `tfsdk:"cloud_credential"`
	Distribution        types.String `tfsdk:"distribution"`
	KubernetesVersion   types.String `tfsdk:"kubernetes_version"`
	NetworkPlugin       types.String `tfsdk:"network_plugin"`
	EnableNetworkPolicy types.Bool   `tfsdk:"enable_network_policy"`
	CloudProvider       types.String `tfsdk:"cloud_provider"`
	Members             types.List   `tfsdk:"members"`
	State               types.String `tfsdk:"state"`
}

type memberModel struct {
	Name types.String `tfsdk:"name"`
	Role types.String `tfsdk:"role"`
}

func (r *clusterResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (r *clusterResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A Kubernetes cluster's identity and settings (Rancher's \"cluster\"): name, distribution, " +
			"Kubernetes version, network plugin, network isolation, cloud provider and members. It makes nothing on " +
			"AWS itself; `ec2k8s_node_pool`s make its machines, and see it whole (`cluster = ec2k8s_cluster.demo`).\n\n" +
			"Changing `kubernetes_version` upgrades the nodes (pools replace them one at a time); downgrades and " +
			"skipped minor versions are plan-time errors. `distribution` and `network_plugin` cannot change after " +
			"the first boot: changing them is a plan-time error, not a silent rebuild — create a new cluster instead.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The cluster's name; use it to import."},
			"name": schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				MarkdownDescription: "Cluster name: a DNS label of at most 40 characters. It tags every AWS object of the cluster.",
				Validators:          []validator.String{validString("a cluster name", bootstrap.ValidateClusterName)}},
			"cloud_credential": schema.SingleNestedAttribute{Required: true, Attributes: credentialObjectAttributes(),
				MarkdownDescription: "The credential, passed whole: `cloud_credential = ec2k8s_cloud_credential.aws`."},
			"distribution": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("rke2"),
				MarkdownDescription: "`rke2` (default) or `k3s`. Cannot change after creation.",
				Validators:          []validator.String{validString("a distribution", bootstrap.ValidateDistribution)}},
			"kubernetes_version": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: fmt.Sprintf("Release of the distribution, such as `%s` or `%s` (the defaults). Kubernetes 1.%d to 1.%d.",
					bootstrap.DefaultVersion("rke2"), bootstrap.DefaultVersion("k3s"), bootstrap.MinMinor, bootstrap.MaxMinor)},
			"network_plugin": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "CNI: `canal` (rke2 default), `calico`, `cilium`, `flannel` (k3s default) or `none`. Cannot change after creation."},
			"enable_network_policy": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Project network isolation: enforce NetworkPolicy (needs a plugin that does)."},
			"cloud_provider": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("none"),
				MarkdownDescription: "Kubernetes cloud provider: `none` (default) or `aws` (the nodes then need an IAM instance profile).",
				Validators:          []validator.String{validString("a cloud provider", bootstrap.ValidateCloudProvider)}},
			"members": schema.ListNestedAttribute{Optional: true,
				MarkdownDescription: "Users who may use the cluster, each with a role.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Required: true, MarkdownDescription: "User name.",
						Validators: []validator.String{validString("a user name", validMemberName)}},
					"role": schema.StringAttribute{Required: true, MarkdownDescription: "`cluster-owner`, `cluster-member` or `read-only`.",
						Validators: []validator.String{validString("a member role", bootstrap.ValidateMemberRole)}},
				}}},
			"state": schema.StringAttribute{Computed: true,
				MarkdownDescription: "`provisioning` until the cluster is ready."},
		},
	}
}

func validMemberName(s string) error {
	if s == "" || len(s) > 128 || strings.ContainsAny(s, " \t\n") {
		return fmt.Errorf("%q is not a user name: 1 to 128 characters without spaces", s)
	}
	return nil
}

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
	plan.State = types.StringValue(clusterStateProvisioning)
	plan.ID = plan.Name
	if !req.State.Raw.IsNull() {
		var state clusterModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
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
		if !plan.KubernetesVersion.IsUnknown() {
			if err := bootstrap.CheckUpgrade(dist, state.KubernetesVersion.ValueString(), plan.KubernetesVersion.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("kubernetes_version"), "Unsupported Kubernetes version change", err.Error())
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *clusterResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.save(ctx, req.Plan.Get, &resp.State, &resp.Diagnostics)
}

func (r *clusterResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	r.save(ctx, req.Plan.Get, &resp.State, &resp.Diagnostics)
}

// save stores the planned cluster: it is all settings, kept in state for the node pools.
func (r *clusterResource) save(ctx context.Context, get func(context.Context, any) diagList, state stateSetter, diags diagAppender) {
	var m clusterModel
	diags.Append(get(ctx, &m)...)
	if diags.HasError() {
		return
	}
	tflog.Info(ctx, "saved cluster settings", map[string]any{
		"cluster": m.Name.ValueString(), "distribution": m.Distribution.ValueString(),
		"kubernetes_version": m.KubernetesVersion.ValueString(), "network_plugin": m.NetworkPlugin.ValueString(),
	})
	diags.Append(state.Set(ctx, &m)...)
}

// Read has nothing to refresh: the cluster's settings live in state; its machines are read by
// the node pools.
func (r *clusterResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m clusterModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Name.IsNull() {
		m.Name = m.ID
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *clusterResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
	// NO-OP: the cluster owns nothing on AWS; its pools delete their machines.
}

func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := bootstrap.ValidateClusterName(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", "Import a cluster by its name: "+err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}
