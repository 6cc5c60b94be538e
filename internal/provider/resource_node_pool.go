package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

var (
	_ resource.ResourceWithConfigure      = (*nodePoolResource)(nil)
	_ resource.ResourceWithImportState    = (*nodePoolResource)(nil)
	_ resource.ResourceWithValidateConfig = (*nodePoolResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*nodePoolResource)(nil)
)

func newNodePoolResource() resource.Resource { return &nodePoolResource{} }

// nodePoolResource is N EC2 instances made from one node template, with Kubernetes roles.
type nodePoolResource struct {
	data *providerData
}

// Timeouts of pool operations when the configuration gives none.
const (
	defaultCreateTimeout = 30 * time.Minute
	defaultUpdateTimeout = 60 * time.Minute
	defaultDeleteTimeout = 30 * time.Minute
)

// maxPoolQuantity is the most nodes a pool may have.
const maxPoolQuantity = 1000

// nodePoolModel is an ec2k8s_node_pool.
type nodePoolModel struct {
	ID             types.String   `tfsdk:"id"`
	Cluster        types.Object   `tfsdk:"cluster"`
	NodeTemplate   types.Object   `tfsdk:"node_template"`
	Name           types.String   `tfsdk:"name"`
	HostnamePrefix types.String   `tfsdk:"hostname_prefix"`
	Quantity       types.Int64    `tfsdk:"quantity"`
	Etcd           types.Bool     `tfsdk:"etcd"`
	ControlPlane   types.Bool     `tfsdk:"control_plane"`
	Worker         types.Bool     `tfsdk:"worker"`
	Region         types.String   `tfsdk:"region"`
	KeyPairName    types.String   `tfsdk:"key_pair_name"`
	Spec           types.String   `tfsdk:"spec"`
	Nodes          types.List     `tfsdk:"nodes"`
	NextIndex      types.Int64    `tfsdk:"next_index"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

// nodeAttrTypes are the attributes of an element of nodes.
var nodeAttrTypes = map[string]attr.Type{
	"instance_id": types.StringType,
	"hostname":    types.StringType,
	"name":        types.StringType,
	"index":       types.Int64Type,
	"private_ip":  types.StringType,
	"public_ip":   types.StringType,
	"state":       types.StringType,
	"roles":       types.ListType{ElemType: types.StringType},
}

// roles are the pool's Kubernetes roles; an unknown role counts as false.
func (m nodePoolModel) roles() provisioning.Roles {
	return provisioning.Roles{Etcd: m.Etcd.ValueBool(), ControlPlane: m.ControlPlane.ValueBool(), Worker: m.Worker.ValueBool()}
}

// template and cluster decode the objects a pool receives; ok is false while unknown.
func (m nodePoolModel) template(ctx context.Context) (t nodeTemplateModel, ok bool, diags diag.Diagnostics) {
	if m.NodeTemplate.IsNull() || m.NodeTemplate.IsUnknown() {
		return t, false, nil
	}
	diags = m.NodeTemplate.As(ctx, &t, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true})
	return t, !diags.HasError(), diags
}

func (m nodePoolModel) cluster(ctx context.Context) (c clusterModel, ok bool, diags diag.Diagnostics) {
	if m.Cluster.IsNull() || m.Cluster.IsUnknown() {
		return c, false, nil
	}
	diags = m.Cluster.As(ctx, &c, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true})
	return c, !diags.HasError(), diags
}

func (r *nodePoolResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node_pool"
}

func (r *nodePoolResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	var cluster, template resource.SchemaResponse
	(&clusterResource{}).Schema(ctx, resource.SchemaRequest{}, &cluster)
	(&nodeTemplateResource{}).Schema(ctx, resource.SchemaRequest{}, &template)
	useState := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	role := func(name string) schema.BoolAttribute {
		return schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			MarkdownDescription: "The nodes have the " + name + " role."}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A node pool (Rancher's): `quantity` EC2 instances made from one node template, with Kubernetes " +
			"roles. Create ensures the managed `rancher-nodes` security group (Rancher's node ports; never deleted), " +
			"imports a key pair only when the template has `ssh_public_key` (nodes boot from user data and need no SSH), " +
			"launches the whole pool in one `RunInstances` call with an idempotency token, and names each instance after its " +
			"node (its `Name` tag). EC2 is the source of truth: instances carry the cluster, pool, role, spec and name tags, and " +
			"a refresh is one filtered `DescribeInstances`; instances terminated out of band show as drift and the next apply " +
			"replaces them; a `Name` changed in the console is set back, replacing nothing.\n\n" +
			"`spec` is a hash of exactly what the nodes are launched and booted with. When it changes, the plan says so and the " +
			"apply replaces the nodes one at a time, new before old; when an input of it is unknown until apply, the plan warns " +
			"that the nodes may be replaced. Security group rules, the SSH key and the credential are not part of it: changing " +
			"them replaces no node. Scaling down removes the newest nodes first (the first node, which others join through, goes " +
			"last).\n\n" +
			"An apply that was killed after launching adopts the instances it made, as they are. A create that fails after " +
			"instances exist records them and ends with a warning, not an error, so the pool is not tainted; the next plan shows " +
			"what is missing. Import with `<region>/<cluster>/<pool>`: the pool is read back from its instances' tags, and the " +
			"first apply after it records the `cluster` and `node_template` objects (which Terraform cannot read back) and changes " +
			"nothing on AWS. Delete terminates every node, waits until they are gone and deletes the key pair.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: useState,
				MarkdownDescription: "`<region>/<cluster>/<pool>`; use it to import."},
			"cluster": schema.SingleNestedAttribute{Required: true, Attributes: receivedAttributes(cluster.Schema.Attributes),
				MarkdownDescription: "The cluster, passed whole: `cluster = ec2k8s_cluster.demo`."},
			"node_template": schema.SingleNestedAttribute{Required: true, Attributes: receivedAttributes(template.Schema.Attributes),
				MarkdownDescription: "The node template, passed whole: `node_template = ec2k8s_node_template.ubuntu`."},
			"name": schema.StringAttribute{Required: true, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				MarkdownDescription: "Pool name, unique in the cluster. Changing it replaces the pool.",
				Validators:          []validator.String{validString("a pool name", bootstrap.ValidateHostnamePrefix)}},
			"hostname_prefix": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Prefix of the node names, which end in a number that is never reused: `demo-etcd-1`, `demo-etcd-2`... Defaults to `<cluster>-<pool>-`.",
				Validators:          []validator.String{validString("a hostname prefix", bootstrap.ValidateHostnamePrefix)}},
			"quantity": schema.Int64Attribute{Required: true,
				MarkdownDescription: fmt.Sprintf("Number of nodes, 0 to %d.", maxPoolQuantity),
				Validators:          []validator.Int64{validInt64("a node count", validQuantity)}},
			"etcd":          role("etcd"),
			"control_plane": role("control plane"),
			"worker":        role("worker"),
			"region": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Region of the nodes, from the node template."},
			"key_pair_name": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Name of the pool's EC2 key pair (`ec2k8s-<cluster>-<pool>`), which holds the template's `ssh_public_key`; null when the template has none. A new key applies to new nodes."},
			"spec": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Hash of exactly what the nodes are launched and booted with; a change replaces nodes one at a time. `drift:<hash>` after a refresh means some node was made otherwise."},
			"next_index": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "Number the next new node gets. Numbers only grow, so no name is given to a second machine."},
			"nodes": schema.ListNestedAttribute{Computed: true,
				MarkdownDescription: "The nodes, by index.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"instance_id": schema.StringAttribute{Computed: true, MarkdownDescription: "EC2 instance ID."},
					"hostname":    schema.StringAttribute{Computed: true, MarkdownDescription: "Node name: `<hostname_prefix><index>`."},
					"name":        schema.StringAttribute{Computed: true, MarkdownDescription: "The instance's `Name` tag as EC2 has it; the provider keeps it equal to `hostname`."},
					"index":       schema.Int64Attribute{Computed: true, MarkdownDescription: "Number in the node name."},
					"private_ip":  schema.StringAttribute{Computed: true, MarkdownDescription: "Private IPv4 address."},
					"public_ip":   schema.StringAttribute{Computed: true, MarkdownDescription: "Public IPv4 address; empty with private_address_only."},
					"state":       schema.StringAttribute{Computed: true, MarkdownDescription: "EC2 instance state."},
					"roles":       schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Kubernetes roles."},
				}}},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// validQuantity checks quantity: 0 to maxPoolQuantity nodes.
func validQuantity(n int64) error {
	if n < 0 || n > maxPoolQuantity {
		return fmt.Errorf("%d is not a node count: give 0 to %d", n, maxPoolQuantity)
	}
	return nil
}

func (r *nodePoolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ImportState takes "<region>/<cluster>/<pool>"; Read then reads the pool back from its
// instances' tags.
func (r *nodePoolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	region, _, name, err := parsePoolID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("region"), region)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

// poolID is a pool's ID: "<region>/<cluster>/<pool>".
func poolID(region, cluster, pool string) string { return region + "/" + cluster + "/" + pool }

// parsePoolID splits "<region>/<cluster>/<pool>".
func parsePoolID(id string) (region, cluster, pool string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("%q is not a node pool ID: expected <region>/<cluster>/<pool>, such as us-west-2/demo/etcd", id)
	}
	return parts[0], parts[1], parts[2], nil
}
