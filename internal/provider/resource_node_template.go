package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

var (
	_ resource.ResourceWithConfigure      = (*nodeTemplateResource)(nil)
	_ resource.ResourceWithImportState    = (*nodeTemplateResource)(nil)
	_ resource.ResourceWithValidateConfig = (*nodeTemplateResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*nodeTemplateResource)(nil)
)

func newNodeTemplateResource() resource.Resource { return &nodeTemplateResource{} }

// nodeTemplateResource is how a node is made, checked against EC2. It creates nothing on AWS.
type nodeTemplateResource struct {
	data *providerData
}

// Template defaults. t3.medium (2 vCPU, 4 GiB) is the smallest general-purpose type that runs an
// RKE2 server.
const (
	defaultInstanceType = "t3.medium"
	defaultRootSize     = 32
	defaultVolumeType   = "gp3"
	defaultSSHUser      = "ubuntu"
	defaultZone         = "a"
)

// nodeTemplateModel is an ec2k8s_node_template, and also the template object node pools receive
// whole (node_template = ec2k8s_node_template.ubuntu).
type nodeTemplateModel struct {
	ID                       types.String  `tfsdk:"id"`
	Name                     types.String  `tfsdk:"name"`
	CloudCredential          types.Object  `tfsdk:"cloud_credential"`
	Region                   types.String  `tfsdk:"region"`
	Zone                     types.String  `tfsdk:"zone"`
	AvailabilityZone         types.String  `tfsdk:"availability_zone"`
	VPCID                    types.String  `tfsdk:"vpc_id"`
	SubnetID                 types.String  `tfsdk:"subnet_id"`
	SecurityGroups           types.Set     `tfsdk:"security_groups"`
	SecurityGroupReadonly    types.Bool    `tfsdk:"security_group_readonly"`
	OpenPorts                types.Set     `tfsdk:"open_ports"`
	SSHCIDRBlocks            types.Set     `tfsdk:"ssh_cidr_blocks"`
	AMI                      types.String  `tfsdk:"ami"`
	Architecture             types.String  `tfsdk:"architecture"`
	InstanceType             types.String  `tfsdk:"instance_type"`
	RootSize                 types.Int64   `tfsdk:"root_size"`
	VolumeType               types.String  `tfsdk:"volume_type"`
	Encrypted                types.Bool    `tfsdk:"encrypted"`
	KMSKeyID                 types.String  `tfsdk:"kms_key_id"`
	SSHUser                  types.String  `tfsdk:"ssh_user"`
	SSHPublicKey             types.String  `tfsdk:"ssh_public_key"`
	IAMInstanceProfile       types.String  `tfsdk:"iam_instance_profile"`
	PrivateAddressOnly       types.Bool    `tfsdk:"private_address_only"`
	UsePrivateAddress        types.Bool    `tfsdk:"use_private_address"`
	RequestSpotInstance      types.Bool    `tfsdk:"request_spot_instance"`
	SpotPrice                types.Float64 `tfsdk:"spot_price"`
	Monitoring               types.Bool    `tfsdk:"monitoring"`
	EBSOptimized             types.Bool    `tfsdk:"ebs_optimized"`
	HTTPTokens               types.String  `tfsdk:"http_tokens"`
	HTTPPutResponseHopLimit  types.Int64   `tfsdk:"http_put_response_hop_limit"`
	Tags                     types.Map     `tfsdk:"tags"`
	UserData                 types.String  `tfsdk:"user_data"`
	NodeLabels               types.Map     `tfsdk:"node_labels"`
	NodeTaints               types.List    `tfsdk:"node_taints"`
	EngineInstallURL         types.String  `tfsdk:"engine_install_url"`
	EngineRegistryMirrors    types.Set     `tfsdk:"engine_registry_mirrors"`
	EngineInsecureRegistries types.Set     `tfsdk:"engine_insecure_registries"`
	EngineLabels             types.Map     `tfsdk:"engine_labels"`
	EngineOptions            types.Map     `tfsdk:"engine_options"`
	EngineEnv                types.Map     `tfsdk:"engine_env"`
	EngineStorageDriver      types.String  `tfsdk:"engine_storage_driver"`
}

// credential decodes the credential object; ok is false while it is unknown.
func (m nodeTemplateModel) credential(ctx context.Context) (c cloudCredentialModel, ok bool, diags diag.Diagnostics) {
	if m.CloudCredential.IsNull() || m.CloudCredential.IsUnknown() {
		return c, false, nil
	}
	diags = m.CloudCredential.As(ctx, &c, basetypes.ObjectAsOptions{})
	return c, !diags.HasError(), diags
}

// region is the template's region, or the credential's when the template has none.
func (m nodeTemplateModel) region(ctx context.Context) types.String {
	if !m.Region.IsNull() {
		return m.Region
	}
	c, ok, _ := m.credential(ctx)
	if !ok {
		return types.StringUnknown()
	}
	return c.Region
}

func (r *nodeTemplateResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node_template"
}

func (r *nodeTemplateResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	useState := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "How a node is made (Rancher's EC2 \"node template\"): where it runs, its image, size, " +
			"disk, network and container engine settings. Creates nothing on AWS, but create and update check it " +
			"against EC2 with Describe calls: the zone, VPC and subnet fit together, the security groups exist " +
			"in the VPC (except the managed `rancher-nodes` group, which the first node pool creates), the AMI " +
			"exists and fits the instance type. Every error names the attribute and the value.\n\n" +
			"Secure by default: encrypted root volume, IMDSv2 required with a hop limit of 1, and no SSH from " +
			"anywhere unless `ssh_cidr_blocks` says so.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: useState,
				MarkdownDescription: "The template's name; use it to import."},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Name of the template. Changing it replaces the template (nothing on AWS changes).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{validString("a template name", provisioning.ValidateName)}},
			"cloud_credential": schema.SingleNestedAttribute{Required: true, Attributes: cloudCredentialObjectAttributes(),
				MarkdownDescription: "The credential, passed whole: `cloud_credential = ec2k8s_cloud_credential.aws`. " +
					"Rotating its keys updates the template in place."},
			"region": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Region of the nodes. Defaults to the credential's region.",
				Validators:          []validator.String{validString("an AWS region", provisioning.ValidateRegion)}},
			"zone": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultZone),
				MarkdownDescription: "Availability zone: a letter (`a`) or a full zone name of the region (`us-west-2a`). Defaults to `a`.",
				Validators:          []validator.String{validString("a zone", provisioning.ValidateZone)}},
			"availability_zone": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The full name of the zone, such as `us-west-2a`."},
			"vpc_id": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "VPC of the nodes. Defaults to the region's default VPC.",
				Validators:          []validator.String{validString("a VPC ID", provisioning.ValidateVPCID)}},
			"subnet_id": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Subnet of the nodes; it must be in the VPC and the zone. Defaults to a subnet of the VPC in the zone: its default subnet, else the one with most free addresses.",
				Validators:          []validator.String{validString("a subnet ID", provisioning.ValidateSubnetID)}},
			"security_groups": schema.SetAttribute{ElementType: types.StringType, Optional: true, Computed: true,
				Default: setdefault.StaticValue(types.SetValueMust(types.StringType, []attr.Value{types.StringValue(provisioning.ManagedSecurityGroup)})),
				MarkdownDescription: fmt.Sprintf("Security groups of the nodes, by name or ID, all in the VPC. Defaults to `[%q]`, "+
					"the group the provider manages: the first node pool creates it with Rancher's node port rules, and it is never deleted.", provisioning.ManagedSecurityGroup),
				Validators: []validator.Set{validSetOf("a security group", provisioning.ValidateSecurityGroup),
					setSizeCheck{max: provisioning.MaxSecurityGroups, why: "EC2 attaches at most 16 security groups to a network interface (5 unless the account's quota was raised)"}}},
			"security_group_readonly": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Never create or change security groups; they must exist."},
			"open_ports": optionalStringSet("Extra ports to open on the managed group, as `port`, `from-to`, with an optional `/tcp` or `/udp` (default tcp).",
				validSetOf("a port", provisioning.ValidateOpenPort)),
			"ssh_cidr_blocks": optionalStringSet("CIDR blocks allowed to reach SSH (22/tcp) on the managed group. Empty by default: no SSH from outside the group.",
				validSetOf("a CIDR block", provisioning.ValidateCIDR)),
			"ami": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "AMI of the nodes. When unset: the newest Ubuntu 24.04 LTS image by Canonical for the region and the instance type's architecture, " +
					"resolved once and kept (so new images do not replace nodes) until the region or instance type changes.",
				Validators: []validator.String{validString("an AMI ID", provisioning.ValidateAMI)}},
			"architecture": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Architecture of the AMI: `x86_64` or `arm64`."},
			"instance_type": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultInstanceType),
				MarkdownDescription: "EC2 instance type. Defaults to `" + defaultInstanceType + "` (2 vCPU, 4 GiB: what an RKE2 server needs). Smaller types get a warning.",
				Validators:          []validator.String{validString("an instance type", provisioning.ValidateInstanceType)}},
			"root_size": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(defaultRootSize),
				MarkdownDescription: fmt.Sprintf("Root volume size in GiB, 8 to 16384. Defaults to %d.", defaultRootSize),
				Validators:          []validator.Int64{validInt64("a root volume size", provisioning.ValidateRootSize)}},
			"volume_type": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultVolumeType),
				MarkdownDescription: "Root volume type: `gp3` (default), `gp2` or `standard`.",
				Validators:          []validator.String{validString("a volume type", provisioning.ValidateVolumeType)}},
			"encrypted": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Encrypt the root volume. Defaults to true."},
			"kms_key_id": schema.StringAttribute{Optional: true,
				MarkdownDescription: "KMS key for the root volume (key ID, key ARN, alias or alias ARN); default: the account's EBS key. " +
					"Give the key to `ec2k8s_iam_policy.kms_key_ids` too.",
				Validators: []validator.String{validString("a KMS key", provisioning.ValidateKMSKey)}},
			"ssh_user": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultSSHUser),
				MarkdownDescription: "The AMI's login user, the one EC2 gives `ssh_public_key` to (`ubuntu` on Ubuntu, the default). Kept for people and tools that connect to the nodes: the provider itself never uses SSH.",
				Validators:          []validator.String{validString("a user name", provisioning.ValidateSSHUser)}},
			"ssh_public_key": schema.StringAttribute{Optional: true,
				MarkdownDescription: "OpenSSH public key (ed25519 or RSA) for the nodes, through one key pair per node pool. When unset, nodes get no key pair: they boot from user data and need no SSH, and no private key is ever kept in state. Changing it replaces no node: new nodes get the new key.",
				Validators:          []validator.String{validString("an SSH public key", provisioning.ValidateSSHPublicKey)}},
			"iam_instance_profile": schema.StringAttribute{Optional: true,
				MarkdownDescription: "IAM instance profile of the nodes, by name or ARN. Needs `iam:PassRole` on its role: give the role to `ec2k8s_iam_policy.pass_role_names`.",
				Validators:          []validator.String{validString("an instance profile", provisioning.ValidateInstanceProfile)}},
			"private_address_only": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Give nodes no public IP address."},
			"use_private_address": schema.BoolAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Reach the cluster's API on the nodes' private addresses rather than their public ones (Rancher's setting). Nodes always join each other over private addresses, whatever it says. Defaults to `private_address_only`."},
			"request_spot_instance": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Run nodes as spot instances."},
			"spot_price": schema.Float64Attribute{Optional: true,
				MarkdownDescription: "Maximum spot price in US dollars per hour; needs `request_spot_instance`. Default: the on-demand price.",
				Validators:          []validator.Float64{validFloat64("a spot price", provisioning.ValidateSpotPrice)}},
			"monitoring": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Detailed CloudWatch monitoring."},
			"ebs_optimized": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Launch as EBS-optimized."},
			"http_tokens": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("required"),
				MarkdownDescription: "Instance metadata tokens: `required` (IMDSv2 only, the default) or `optional`.",
				Validators:          []validator.String{validString("an http_tokens value", provisioning.ValidateHTTPTokens)}},
			"http_put_response_hop_limit": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(1),
				MarkdownDescription: "Instance metadata hop limit, 1 to 64. Defaults to 1, which keeps the node's credentials away from pods.",
				Validators:          []validator.Int64{validInt64("a hop limit", provisioning.ValidateHopLimit)}},
			"tags": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: fmt.Sprintf("Tags for the instances, their volumes and network interfaces; at most %d (EC2 allows %d, the provider sets its own). "+
					"`Name`, `ec2k8s:*` and `kubernetes.io/cluster/*` are the provider's.", provisioning.MaxUserTags, provisioning.MaxTags),
				Validators: []validator.Map{wholeMapCheck{desc: "EC2 tags", fn: provisioning.ValidateTags}}},
			"user_data": schema.StringAttribute{Optional: true,
				MarkdownDescription: fmt.Sprintf("Extra cloud-init user data (a `#cloud-config` document or a script), a second MIME part after the bootstrap's: a cloud-config is merged with it (lists appended), so its `write_files` are written before the bootstrap runs and its `runcmd` runs after it; a script runs after the bootstrap. At most %d bytes.", provisioning.MaxExtraUserData),
				Validators:          []validator.String{validString("user data", provisioning.ValidateUserData)}},
			"node_labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Kubernetes labels for the nodes (`node-label` in their config). `node-role.kubernetes.io/*` labels are refused: the kubelet may not set them, and the node would not register.",
				Validators:          validMap("a label key", provisioning.ValidateNodeLabelKey, "a label value", provisioning.ValidateLabelValue)},
			"node_taints": schema.ListNestedAttribute{Optional: true,
				MarkdownDescription: "Kubernetes taints for the nodes (`node-taint` in their config), after the default taints of dedicated etcd and control-plane nodes.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key": schema.StringAttribute{Required: true, MarkdownDescription: "Taint key.",
						Validators: []validator.String{validString("a taint key", provisioning.ValidateLabelKey)}},
					"value": schema.StringAttribute{Optional: true, MarkdownDescription: "Taint value.",
						Validators: []validator.String{validString("a taint value", provisioning.ValidateLabelValue)}},
					"effect": schema.StringAttribute{Required: true, MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`.",
						Validators: []validator.String{validString("a taint effect", provisioning.ValidateTaintEffect)}},
				}}},
			"engine_install_url": schema.StringAttribute{Optional: true,
				MarkdownDescription: "URL of a script that installs Docker, run on each node before the Kubernetes install. Only with `distribution = \"k3s\"` and the cluster's `container_runtime = \"docker\"` (a plan-time error otherwise). The Kubernetes install script is the cluster's `install_script_url`.",
				Validators:          []validator.String{validString("a URL", provisioning.ValidateURL)}},
			"engine_registry_mirrors": optionalStringSet("Registry mirror URLs for docker.io: the `mirrors` of the node's `registries.yaml` (every distribution), and Docker's `registry-mirrors` with `container_runtime = \"docker\"`.", validSetOf("a URL", provisioning.ValidateURL)),
			"engine_insecure_registries": optionalStringSet("Registries reached without TLS verification, as host[:port] (`insecure_skip_verify` in the node's `registries.yaml`), or a CIDR block with `container_runtime = \"docker\"` only (Docker's `insecure-registries`; containerd cannot match a CIDR).",
				validSetOf("a registry", provisioning.ValidateRegistryHost)),
			"engine_labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Docker daemon labels (`labels` of `/etc/docker/daemon.json`). Only with `container_runtime = \"docker\"` (a plan-time error otherwise).",
				Validators:          validMap("a label key", provisioning.ValidateLabelKey, "", nil)},
			"engine_options": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Extra Docker daemon options, by option name without dashes, into `/etc/docker/daemon.json` (numbers and `true`/`false` as JSON values): `{ \"max-concurrent-downloads\" = \"10\" }`. Only with `container_runtime = \"docker\"` (a plan-time error otherwise).",
				Validators:          validMap("a daemon option", provisioning.ValidateEngineOption, "", nil)},
			"engine_env": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Environment of the install scripts and of the Kubernetes service (`/etc/default/<service>`, which the rke2 and k3s units read), such as `HTTPS_PROXY` and `NO_PROXY`.",
				Validators:          validMap("an environment variable", provisioning.ValidateEnvName, "", nil)},
			"engine_storage_driver": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Docker storage driver (`storage-driver` of `/etc/docker/daemon.json`), such as `overlay2`. Only with `container_runtime = \"docker\"` (a plan-time error otherwise).",
				Validators:          []validator.String{validString("a storage driver", provisioning.ValidateStorageDriver)}},
		},
	}
}

// optionalStringSet is an optional set of strings, each checked by v.
func optionalStringSet(desc string, v validator.Set) schema.SetAttribute {
	return schema.SetAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: desc, Validators: []validator.Set{v}}
}

func (r *nodeTemplateResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ImportState takes the template's name; the next apply sets the rest from the configuration
// and checks it against EC2.
func (r *nodeTemplateResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByName(ctx, req, resp, "a node template", provisioning.ValidateName)
}
