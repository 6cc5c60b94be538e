package provider

import (
	"context"
	"fmt"
	"maps"
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
	Spec           types.String   `tfsdk:"spec"`
	Nodes          types.List     `tfsdk:"nodes"`
	NextIndex      types.Int64    `tfsdk:"next_index"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

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

// ModifyPlan computes what is known before apply: the ID, names, the spec of the nodes; keeps
// the nodes known when nothing about them changes (a credential rotation, say); and says when
// the apply will, or may, replace nodes.
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
	if config.HostnamePrefix.IsNull() {
		plan.HostnamePrefix = types.StringUnknown()
	}
	spec, unknown, d := plan.fillDerived(ctx)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	if len(unknown) == 0 {
		if err := spec.CheckUserData(); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("node_template"), "User data too large", err.Error())
		}
		if err := bootstrap.CheckEngine(spec.Boot); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("node_template"), "Engine settings without an effect", err.Error())
		}
	}
	if state != nil && state.Quantity.ValueInt64() > 0 && !plan.Quantity.IsUnknown() {
		// Etcd members of leaving nodes stay behind: refuse at plan what the apply would refuse.
		replaced := int64(0)
		if !plan.Spec.IsUnknown() && !plan.Spec.Equal(state.Spec) {
			replaced = min(state.Quantity.ValueInt64(), plan.Quantity.ValueInt64())
		}
		removed := max(state.Quantity.ValueInt64()-plan.Quantity.ValueInt64(), 0)
		etcd := plan.Etcd.ValueBool()
		if etcd && replaced+removed > 0 {
			// Only through the cluster's API can leaving etcd nodes take their members along.
			if c, ok, _ := plan.cluster(ctx); ok && clusterAPI(ctx, c) != nil {
				etcd = false
				resp.Diagnostics.AddWarning("Etcd nodes will leave one at a time",
					fmt.Sprintf("Node pool %s will replace %d and remove %d of its etcd nodes. Through the cluster's API each is cordoned, "+
						"drained and its etcd member removed before its instance is terminated, one etcd node at a time.", plan.ID.ValueString(), replaced, removed))
			}
		}
		if err := provisioning.CheckEtcdChange(plan.ID.ValueString(), etcd, int(replaced), int(removed)); err != nil {
			resp.Diagnostics.AddError("Etcd nodes cannot be replaced or removed", err.Error())
		}
	}
	plan.Nodes = types.ListUnknown(types.ObjectType{AttrTypes: nodeAttrTypes})
	plan.NextIndex = types.Int64Unknown()
	if state != nil && state.Quantity.ValueInt64() > 0 {
		id := plan.ID.ValueString()
		switch {
		case plan.Spec.IsUnknown():
			etcd := ""
			if plan.Etcd.ValueBool() {
				etcd = " Etcd nodes are replaced only through the cluster's API (api_server_url or registration_address): without it the apply fails and replaces none."
			}
			resp.Diagnostics.AddWarning("Nodes may be replaced", fmt.Sprintf("The spec of node pool %s depends on %s, "+
				"which will not be known until apply. If the nodes would be launched or booted differently, the apply "+
				"replaces every node of the pool, one at a time, new before old.%s", id, strings.Join(unknown, ", "), etcd))
		case !plan.Spec.Equal(state.Spec):
			resp.Diagnostics.AddWarning("Nodes will be replaced", fmt.Sprintf("The nodes of node pool %s were made with spec %s; "+
				"this plan's is %s. The apply replaces every node whose spec differs, one at a time, new before old.",
				id, state.Spec.ValueString(), plan.Spec.ValueString()))
		}
	}
	if state != nil && !plan.Spec.IsUnknown() && plan.Spec.Equal(state.Spec) && plan.Quantity.Equal(state.Quantity) &&
		!state.Nodes.IsNull() && !state.Nodes.IsUnknown() {
		// Nothing to launch or terminate: the nodes stay as they are, if they are settled.
		nodes, settled, d := settledNodes(ctx, state.Nodes, int(plan.Quantity.ValueInt64()))
		resp.Diagnostics.Append(d...)
		if settled {
			plan.Nodes, plan.NextIndex = nodes, state.NextIndex
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// settledNodes is what an apply that launches and terminates nothing leaves of nodes: the same,
// each named after itself. A node whose Name is to be set back plans it unknown, since the
// renaming may fail (a warning, not an error); settled is false unless there are quantity nodes
// and all run, for a pending node's state and addresses will change under the apply.
func settledNodes(ctx context.Context, nodes types.List, quantity int) (types.List, bool, diag.Diagnostics) {
	var objs []types.Object
	diags := nodes.ElementsAs(ctx, &objs, false)
	if len(objs) != quantity {
		return nodes, false, diags
	}
	elems := make([]attr.Value, 0, len(objs))
	for _, o := range objs {
		attrs := maps.Clone(o.Attributes())
		if !attrs["state"].Equal(types.StringValue("running")) {
			return nodes, false, diags
		}
		if !attrs["name"].Equal(attrs["hostname"]) {
			attrs["name"] = types.StringUnknown()
		}
		v, d := types.ObjectValue(nodeAttrTypes, attrs)
		diags.Append(d...)
		elems = append(elems, v)
	}
	list, d := types.ListValue(types.ObjectType{AttrTypes: nodeAttrTypes}, elems)
	diags.Append(d...)
	return list, true, diags
}

// fillDerived sets what follows from the pool's inputs, as far as they are known: region, ID,
// key pair name, default hostname prefix (when unknown), and spec, which stays unknown while
// any input of it is; unknown names those inputs.
func (m *poolModel) fillDerived(ctx context.Context) (spec provisioning.NodeSpec, unknown []string, diags diag.Diagnostics) {
	tmpl, tmplOK, d := m.template(ctx)
	diags.Append(d...)
	cl, clOK, d := m.cluster(ctx)
	diags.Append(d...)
	if tmplOK && !tmpl.Region.IsUnknown() {
		m.Region = tmpl.Region
	}
	m.KeyPairName = types.StringUnknown()
	if clOK && !cl.Name.IsUnknown() && !m.Name.IsUnknown() {
		cluster, name := cl.Name.ValueString(), m.Name.ValueString()
		if m.HostnamePrefix.IsUnknown() {
			m.HostnamePrefix = types.StringValue(cluster + "-" + name + "-")
		}
		if !m.Region.IsUnknown() && !m.Region.IsNull() {
			m.ID = types.StringValue(poolID(m.Region.ValueString(), cluster, name))
		}
		switch {
		case !tmplOK || tmpl.SSHPublicKey.IsUnknown():
		case tmpl.SSHPublicKey.IsNull():
			m.KeyPairName = types.StringNull()
		default:
			m.KeyPairName = types.StringValue(provisioning.KeyPairName(cluster, name))
		}
	}
	m.Spec = types.StringUnknown()
	switch {
	case !tmplOK:
		return spec, []string{"node_template"}, diags
	case !clOK:
		return spec, []string{"cluster"}, diags
	}
	spec, unknown, d = nodeSpec(ctx, *m, tmpl, cl)
	diags.Append(d...)
	if len(unknown) > 0 || diags.HasError() {
		return spec, unknown, diags
	}
	hash, err := spec.Hash()
	if err != nil {
		diags.AddError("Cannot hash node spec", err.Error())
		return spec, unknown, diags
	}
	m.Spec = types.StringValue(hash)
	return spec, nil, diags
}

func poolID(region, cluster, pool string) string { return region + "/" + cluster + "/" + pool }

// parsePoolID splits "<region>/<cluster>/<pool>".
func parsePoolID(id string) (region, cluster, pool string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("%q is not a node pool ID: expected <region>/<cluster>/<pool>, such as us-west-2/demo/etcd", id)
	}
	return parts[0], parts[1], parts[2], nil
}
