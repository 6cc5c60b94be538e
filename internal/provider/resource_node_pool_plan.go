package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// ValidateConfig: a pool needs a role; the seed's non-production topologies get warnings.
func (r *nodePoolResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m nodePoolModel
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

// ModifyPlan computes what is known before apply: the ID, names, the spec of the nodes; keeps
// the nodes known when nothing about them changes (a credential rotation, say); and says when
// the apply will, or may, replace nodes.
func (r *nodePoolResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config nodePoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *nodePoolModel
	if !req.State.Raw.IsNull() {
		state = &nodePoolModel{}
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
	}
	// The engine check reads only the engine settings and the cluster's distribution and runtime,
	// known at plan even when the template's AMI or subnet is not (a first apply).
	if !slices.ContainsFunc(unknown, isEngineInput) {
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

// isEngineInput says whether a spec input (as nodeSpec names it) is one bootstrap.CheckEngine reads.
func isEngineInput(name string) bool {
	return strings.HasPrefix(name, "node_template.engine_") || name == "cluster.distribution" || name == "cluster.container_runtime"
}
