package provider

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
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
	// Bootstrap settings: what the nodes install and how they are configured.
	InstallScriptURL      types.String `tfsdk:"install_script_url"`
	InstallEnv            types.Map    `tfsdk:"install_env"`
	ClusterCIDR           types.String `tfsdk:"cluster_cidr"`
	ServiceCIDR           types.String `tfsdk:"service_cidr"`
	ClusterDNS            types.String `tfsdk:"cluster_dns"`
	SystemDefaultRegistry types.String `tfsdk:"system_default_registry"`
	ContainerRuntime      types.String `tfsdk:"container_runtime"`
	RegistrationAddress   types.String `tfsdk:"registration_address"`
	APIServerURL          types.String `tfsdk:"api_server_url"`
	EtcdSnapshot          types.Object `tfsdk:"etcd_snapshot"`
	// Secrets is the cluster's PKI and tokens (bootstrap.PKI as JSON); ClusterCACertificate
	// its server CA bundle.
	Secrets              types.String `tfsdk:"secrets"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
}

type etcdSnapshotModel struct {
	ScheduleCron types.String `tfsdk:"schedule_cron"`
	Retention    types.Int64  `tfsdk:"retention"`
	S3Bucket     types.String `tfsdk:"s3_bucket"`
	S3Folder     types.String `tfsdk:"s3_folder"`
	S3Region     types.String `tfsdk:"s3_region"`
	S3Endpoint   types.String `tfsdk:"s3_endpoint"`
}

// Defaults of etcd snapshots: RKE2's and k3s's own.
const (
	defaultSnapshotCron      = "0 */12 * * *"
	defaultSnapshotRetention = 5
)

var etcdSnapshotAttrTypes = map[string]attr.Type{
	"schedule_cron": types.StringType, "retention": types.Int64Type, "s3_bucket": types.StringType,
	"s3_folder": types.StringType, "s3_region": types.StringType, "s3_endpoint": types.StringType,
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
			"install_script_url": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Install script the nodes run, with `INSTALL_RKE2_VERSION`/`INSTALL_RKE2_TYPE` (k3s: `INSTALL_K3S_VERSION`/`INSTALL_K3S_EXEC`) set from `kubernetes_version` and the node's roles. Defaults to `https://get.rke2.io` or `https://get.k3s.io`; point it at a mirror for networks without internet access.",
				Validators:          []validator.String{validString("a URL", bootstrap.ValidateURL)}},
			"install_env": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Extra `INSTALL_RKE2_*` (k3s: `INSTALL_K3S_*`) variables of the install script, such as `INSTALL_RKE2_ARTIFACT_PATH` for an AMI that carries the release artifacts (air-gapped networks)."},
			"cluster_cidr": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(bootstrap.DefaultClusterCIDR),
				MarkdownDescription: "Pod network, identical on every server. Defaults to `" + bootstrap.DefaultClusterCIDR + "`. Cannot change after creation.",
				Validators:          []validator.String{validString("a CIDR block", bootstrap.ValidateCIDRs)}},
			"service_cidr": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(bootstrap.DefaultServiceCIDR),
				MarkdownDescription: "Service network, identical on every server. Defaults to `" + bootstrap.DefaultServiceCIDR + "`. Cannot change after creation.",
				Validators:          []validator.String{validString("a CIDR block", bootstrap.ValidateCIDRs)}},
			"cluster_dns": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(bootstrap.DefaultClusterDNS),
				MarkdownDescription: "Address of the cluster DNS service, in `service_cidr`. Defaults to `" + bootstrap.DefaultClusterDNS + "`. Cannot change after creation.",
				Validators:          []validator.String{validString("an IP address", bootstrap.ValidateIP)}},
			"system_default_registry": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Registry (`host[:port]`) the system images are pulled from, for a private mirror.",
				Validators:          []validator.String{validString("a registry", bootstrap.ValidateRegistry)}},
			"container_runtime": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("containerd"),
				MarkdownDescription: "`containerd` (default) or `docker` (k3s only: `docker: true`, which makes the node template's docker engine settings take effect).",
				Validators:          []validator.String{validString("a container runtime", func(s string) error { return oneOf(s, bootstrap.ContainerRuntimes) })}},
			"registration_address": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Fixed address (IP or DNS name) of the cluster, such as a load balancer in front of the servers: every node joins through it, and it is in the servers' certificates. Without it nodes join through a live server's private address. Used by nodes launched after it is set; changing it replaces no node.",
				Validators:          []validator.String{validString("an address", bootstrap.ValidateRegistrationAddress)}},
			"api_server_url": schema.StringAttribute{Optional: true,
				MarkdownDescription: "URL users and the provider reach the Kubernetes API by, such as `https://k8s.example.com:6443` (a load balancer's). Without it, `ec2k8s_cluster_sync` uses `https://<registration_address>:6443`, else the first control-plane node's address. Changing it replaces no node.",
				Validators:          []validator.String{validString("a URL", bootstrap.ValidateURL)}},
			"etcd_snapshot": schema.SingleNestedAttribute{Optional: true, Computed: true,
				Default: objectdefault.StaticValue(types.ObjectValueMust(etcdSnapshotAttrTypes, map[string]attr.Value{
					"schedule_cron": types.StringValue(defaultSnapshotCron), "retention": types.Int64Value(defaultSnapshotRetention),
					"s3_bucket": types.StringNull(), "s3_folder": types.StringNull(), "s3_region": types.StringNull(), "s3_endpoint": types.StringNull(),
				})),
				MarkdownDescription: "When the etcd servers snapshot the datastore, how many snapshots they keep, and the S3 bucket they copy them to, if any (the servers' instance profile then needs `ec2k8s_node_iam_policy`'s S3 statements).",
				Attributes: map[string]schema.Attribute{
					"schedule_cron": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultSnapshotCron),
						MarkdownDescription: "Cron schedule. Defaults to `" + defaultSnapshotCron + "`.",
						Validators:          []validator.String{validString("a cron schedule", bootstrap.ValidateCron)}},
					"retention": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(defaultSnapshotRetention),
						MarkdownDescription: "Snapshots kept. Defaults to 5.",
						Validators:          []validator.Int64{validInt64("a snapshot count", validRetention)}},
					"s3_bucket": schema.StringAttribute{Optional: true, MarkdownDescription: "S3 bucket the snapshots are copied to.",
						Validators: []validator.String{validString("an S3 bucket", iampolicy.ValidateS3BucketName)}},
					"s3_folder": schema.StringAttribute{Optional: true, MarkdownDescription: "Folder (key prefix) in the bucket.",
						Validators: []validator.String{validString("a folder", iampolicy.ValidateS3Folder)}},
					"s3_region": schema.StringAttribute{Optional: true, MarkdownDescription: "Region of the bucket.",
						Validators: []validator.String{validString("a region", provisioning.ValidateRegion)}},
					"s3_endpoint": schema.StringAttribute{Optional: true, MarkdownDescription: "S3 endpoint (`host[:port]`), for an S3-compatible store. Defaults to AWS's.",
						Validators: []validator.String{validString("an endpoint", bootstrap.ValidateRegistry)}},
				}},
			"secrets": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The cluster's custom CA set (root, intermediate, server, client, request-header and etcd CAs, service account key) and join tokens, made when the cluster is created and kept only in state: protect the state. The node that starts the cluster gets the CA keys; other servers the tokens; agents the agent token only. An imported cluster has none (they cannot be read back from the nodes)."},
			"cluster_ca_certificate": schema.StringAttribute{Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "The cluster's server CA bundle (PEM): what clients trust the Kubernetes API by."},
		},
	}
}

func validRetention(n int64) error {
	if n < 1 || n > 1000 {
		return fmt.Errorf("%d snapshots: keep 1 to 1000", n)
	}
	return nil
}

func oneOf(s string, allowed []string) error {
	if slices.Contains(allowed, s) {
		return nil
	}
	return fmt.Errorf("%q: use one of %s", s, strings.Join(allowed, ", "))
}

func validMemberName(s string) error {
	if s == "" || len(s) > 128 || strings.ContainsAny(s, " \t\n/%") {
		return fmt.Errorf("%q is not a user name: 1 to 128 characters without spaces, '/' or '%%'", s)
	}
	if strings.HasPrefix(s, "system:") || s == bootstrap.AdminUser {
		return fmt.Errorf("%q is reserved: names starting with system: are Kubernetes' own identities, and %s is the provider's admin; pick another name", s, bootstrap.AdminUser)
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
	r.validateBootstrap(ctx, m, dist, resp)
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
	r.save(ctx, func(_ context.Context, v any) diagList { *(v.(*clusterModel)) = m; return nil }, &resp.State, &resp.Diagnostics)
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
	resp.Diagnostics.AddWarning("The cluster's CA keys and tokens are not imported",
		fmt.Sprintf("Cluster %q lives on its nodes; its CA set and join tokens were made by the provider when it was created and are only in "+
			"that state, so an import cannot recover them. Node pools of this cluster keep their nodes, but cannot launch new ones: "+
			"restore the state that created the cluster to scale or replace nodes.", req.ID))
}
