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
	_ resource.ResourceWithConfigure      = (*poolResource)(nil)
	_ resource.ResourceWithImportState    = (*poolResource)(nil)
	_ resource.ResourceWithValidateConfig = (*poolResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*poolResource)(nil)
)

// Timeouts of pool operations when the configuration gives none.
const (
	defaultCreateTimeout = 30 * time.Minute
	defaultUpdateTimeout = 60 * time.Minute
	defaultDeleteTimeout = 30 * time.Minute
	maxPoolQuantity      = 1000
)

func newPoolResource() resource.Resource { return &poolResource{} }

// poolResource is N EC2 instances made from one node template, with Kubernetes roles.
type poolResource struct {
	data *providerData
}

type poolModel struct {
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
	SSHPublicKey   types.String   `tfsdk:"ssh_public_key"`
	SSHPrivateKey  types.String   `tfsdk:"ssh_private_key"`
	Spec           types.String   `tfsdk:"spec"`
	Nodes          types.List     `tfsdk:"nodes"`
	NextIndex      types.Int64    `tfsdk:"next_index"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

var nodeAttrTypes = map[string]attr.Type{
	"instance_id": types.StringType,
	"hostname":    types.StringType,
	"index":       types.Int64Type,
	"private_ip":  types.StringType,
	"public_ip":   types.StringType,
	"state":       types.StringType,
	"roles":       types.ListType{ElemType: types.StringType},
}

func (r *poolResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node_pool"
}

func (r *poolResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	var cluster, template resource.SchemaResponse
	(&clusterResource{}).Schema(ctx, resource.SchemaRequest{}, &cluster)
	(&templateResource{}).Schema(ctx, resource.SchemaRequest{}, &template)
	useState := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	role := func(name string) schema.BoolAttribute {
		return schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
			MarkdownDescription: "The nodes have the " + name + " role."}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A node pool (Rancher's): `quantity` EC2 instances made from one node template, with Kubernetes " +
			"roles. Create ensures the managed `rancher-nodes` security group (Rancher's node ports; never deleted), " +
			"imports one key pair, and launches the whole pool in one `RunInstances` call with an idempotency token. " +
			"EC2 is the source of truth: instances carry the cluster, pool and role tags, and a refresh is one filtered " +
			"`DescribeInstances`; instances terminated out of band show as drift and the next apply replaces them.\n\n" +
			"Scaling down removes the newest nodes first (the first node, which others join through, goes last). A change " +
			"of the node template or of cluster settings the nodes boot with replaces nodes one at a time, new before old. " +
			"Rotating the credential's keys replaces nothing. Delete terminates every node, waits until they are gone and " +
			"deletes the key pair.",
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
				MarkdownDescription: "Name of the pool's EC2 key pair."},
			"ssh_public_key": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Public key of the key pair: the template's `ssh_public_key`, or a generated one."},
			"ssh_private_key": schema.StringAttribute{Computed: true, Sensitive: true,
				MarkdownDescription: "Generated private key (OpenSSH PEM) when the template brings no public key; null otherwise, and after import."},
			"spec": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Hash of everything the nodes are made and booted with; a change replaces nodes one at a time."},
			"next_index": schema.Int64Attribute{Computed: true,
				MarkdownDescription: "Number the next new node gets. Numbers only grow, so no name is given to a second machine."},
			"nodes": schema.ListNestedAttribute{Computed: true,
				MarkdownDescription: "The nodes, by index.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"instance_id": schema.StringAttribute{Computed: true, MarkdownDescription: "EC2 instance ID."},
					"hostname":    schema.StringAttribute{Computed: true, MarkdownDescription: "Node name."},
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

func validQuantity(n int64) error {
	if n < 0 || n > maxPoolQuantity {
		return fmt.Errorf("%d is not a node count: give 0 to %d", n, maxPoolQuantity)
	}
	return nil
}

func (r *poolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (m poolModel) roles() provisioning.Roles {
	return provisioning.Roles{Etcd: m.Etcd.ValueBool(), ControlPlane: m.ControlPlane.ValueBool(), Worker: m.Worker.ValueBool()}
}

// ValidateConfig: a pool needs a role; the seed's non-production topologies get warnings.
func (r *poolResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m poolModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Etcd.IsUnknown() || m.ControlPlane.IsUnknown() || m.Worker.IsUnknown() {
		return
	}
	if len(m.roles().List()) == 0 {
		resp.Diagnostics.AddAttributeError(path.Root("worker"), "Node pool without a role",
			"Set at least one of etcd, control_plane and worker to true.")
		return
	}
	quantity := int64(-1) // unknown: no advice on the etcd count yet
	if !m.Quantity.IsUnknown() && !m.Quantity.IsNull() {
		quantity = m.Quantity.ValueInt64()
	}
	for _, w := range provisioning.TopologyWarnings(m.roles(), quantity) {
		resp.Diagnostics.AddWarning("Not a production topology", w)
	}
}

// template and cluster decode the objects a pool receives; ok is false while unknown.
func (m poolModel) template(ctx context.Context) (t templateModel, ok bool, diags diag.Diagnostics) {
	if m.NodeTemplate.IsNull() || m.NodeTemplate.IsUnknown() {
		return t, false, nil
	}
	diags = m.NodeTemplate.As(ctx, &t, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true})
	return t, !diags.HasError(), diags
}

func (m poolModel) cluster(ctx context.Context) (c clusterModel, ok bool, diags diag.Diagnostics) {
	if m.Cluster.IsNull() || m.Cluster.IsUnknown() {
		return c, false, nil
	}
	diags = m.Cluster.As(ctx, &c, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true})
	return c, !diags.HasError(), diags
}

// ModifyPlan computes what is known before apply: the ID, names, the spec of the nodes; and keeps
// the nodes known when nothing about them changes (a credential rotation, say).
func (r *poolResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *poolModel
	if !req.State.Raw.IsNull() {
		state = &poolModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	tmpl, tmplOK, d := plan.template(ctx)
	resp.Diagnostics.Append(d...)
	switch {
	case !tmplOK || tmpl.SSHPublicKey.IsUnknown():
		plan.SSHPublicKey, plan.SSHPrivateKey = types.StringUnknown(), types.StringUnknown()
	case !tmpl.SSHPublicKey.IsNull():
		plan.SSHPublicKey, plan.SSHPrivateKey = tmpl.SSHPublicKey, types.StringNull()
	case state != nil && !state.SSHPrivateKey.IsNull():
		plan.SSHPublicKey, plan.SSHPrivateKey = state.SSHPublicKey, state.SSHPrivateKey
	default: // generated at apply
		plan.SSHPublicKey, plan.SSHPrivateKey = types.StringUnknown(), types.StringUnknown()
	}
	if config.HostnamePrefix.IsNull() {
		plan.HostnamePrefix = types.StringUnknown()
	}
	resp.Diagnostics.Append(plan.fillDerived(ctx)...)
	known := !plan.Spec.IsUnknown()
	plan.Nodes = types.ListUnknown(types.ObjectType{AttrTypes: nodeAttrTypes})
	plan.NextIndex = types.Int64Unknown()
	if state != nil && known && plan.Spec.Equal(state.Spec) && plan.Quantity.Equal(state.Quantity) &&
		plan.roles() == state.roles() && !state.Nodes.IsNull() {
		plan.Nodes, plan.NextIndex = state.Nodes, state.NextIndex
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// fillDerived sets what follows from the pool's inputs, as far as they are known: region, ID,
// key pair name, default hostname prefix (when unknown), and spec (unknown until all is known).
func (m *poolModel) fillDerived(ctx context.Context) diag.Diagnostics {
	tmpl, tmplOK, diags := m.template(ctx)
	cl, clOK, d := m.cluster(ctx)
	diags.Append(d...)
	if tmplOK && !tmpl.Region.IsUnknown() {
		m.Region = tmpl.Region
	}
	if clOK && !cl.Name.IsUnknown() && !m.Name.IsUnknown() {
		cluster, name := cl.Name.ValueString(), m.Name.ValueString()
		m.KeyPairName = types.StringValue(keyPairName(cluster, name))
		if m.HostnamePrefix.IsUnknown() {
			m.HostnamePrefix = types.StringValue(cluster + "-" + name + "-")
		}
		if !m.Region.IsUnknown() && !m.Region.IsNull() {
			m.ID = types.StringValue(poolID(m.Region.ValueString(), cluster, name))
		}
	}
	spec, known, d := poolSpec(ctx, *m, tmpl, tmplOK, cl, clOK)
	diags.Append(d...)
	m.Spec = types.StringUnknown()
	if known {
		m.Spec = types.StringValue(spec)
	}
	return diags
}

func keyPairName(cluster, pool string) string { return "ec2k8s-" + cluster + "-" + pool }

func poolID(region, cluster, pool string) string { return region + "/" + cluster + "/" + pool }

// parsePoolID splits "<region>/<cluster>/<pool>".
func parsePoolID(id string) (region, cluster, pool string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("%q is not a node pool ID: expected <region>/<cluster>/<pool>, such as us-west-2/demo/etcd", id)
	}
	return parts[0], parts[1], parts[2], nil
}
