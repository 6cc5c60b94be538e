package provider

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
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

// clusterStateProvisioning is the state an ec2k8s_cluster records: it never sees its nodes, so
// it never knows more; ec2k8s_cluster_sync reports clusterStateActive once they are ready.
const clusterStateProvisioning = "provisioning"

// clusterModel is an ec2k8s_cluster, and also the cluster object node pools and the sync
// receive whole (cluster = ec2k8s_cluster.demo).
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

// configuredAPIURL is the API's URL as the cluster says it: api_server_url, else
// registration_address on 6443; "" when it says neither.
func (c clusterModel) configuredAPIURL() string {
	if u := c.APIServerURL.ValueString(); u != "" {
		return strings.TrimRight(u, "/")
	}
	if a := c.RegistrationAddress.ValueString(); a != "" {
		return "https://" + net.JoinHostPort(a, "6443")
	}
	return ""
}

// etcdSnapshotModel is the cluster's etcd_snapshot object.
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

// memberModel is one of the cluster's members.
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
			"cloud_credential": schema.SingleNestedAttribute{Required: true, Attributes: cloudCredentialObjectAttributes(),
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
				MarkdownDescription: "Always `provisioning`: this resource makes the cluster's settings and PKI and never watches the cluster. `ec2k8s_cluster_sync`'s `state` says when it is `active`."},
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
				MarkdownDescription: "URL users and the provider reach the Kubernetes API by, such as `https://k8s.example.com:6443` (a load balancer's). Without it, `ec2k8s_cluster_sync` uses `https://<registration_address>:6443`, else the first control-plane node's address. Its host must be in the servers' certificates: a DNS name there is the `registration_address` (the plan warns otherwise). Changing it replaces no node.",
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

// validRetention checks etcd_snapshot.retention.
func validRetention(n int64) error {
	if n < 1 || n > 1000 {
		return fmt.Errorf("%d snapshots: keep 1 to 1000", n)
	}
	return nil
}

// oneOf checks that s is one of allowed.
func oneOf(s string, allowed []string) error {
	if slices.Contains(allowed, s) {
		return nil
	}
	return fmt.Errorf("%q: use one of %s", s, strings.Join(allowed, ", "))
}

// validMemberName checks a member's name: a user name the provider may bind, neither one of
// Kubernetes' own identities nor the provider's admin.
func validMemberName(s string) error {
	if s == "" || len(s) > 128 || strings.ContainsAny(s, " \t\n/%") {
		return fmt.Errorf("%q is not a user name: 1 to 128 characters without spaces, '/' or '%%'", s)
	}
	if strings.HasPrefix(s, "system:") || s == bootstrap.AdminUser {
		return fmt.Errorf("%q is reserved: names starting with system: are Kubernetes' own identities, and %s is the provider's admin; pick another name", s, bootstrap.AdminUser)
	}
	return nil
}

// ImportState takes the cluster's name; the next apply sets its settings from the configuration.
// Its CA set and join tokens cannot come back, and the warning says what that means.
func (r *clusterResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !importByName(ctx, req, resp, "a cluster", bootstrap.ValidateClusterName) {
		return
	}
	resp.Diagnostics.AddWarning("The cluster's CA keys and tokens are not imported",
		fmt.Sprintf("Cluster %q lives on its nodes; its CA set and join tokens were made by the provider when it was created and are only in "+
			"that state, so an import cannot recover them. Node pools of this cluster keep their nodes, but cannot launch new ones: "+
			"restore the state that created the cluster to scale or replace nodes.", req.ID))
}
