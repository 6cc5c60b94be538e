package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

func (r *nodePoolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan nodePoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, opTimeout(ctx, plan.Timeouts.Create, defaultCreateTimeout, &resp.Diagnostics), &plan, 0, opCreate, &resp.State, &resp.Diagnostics)
}

func (r *nodePoolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state nodePoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, opTimeout(ctx, plan.Timeouts.Update, defaultUpdateTimeout, &resp.Diagnostics), &plan, int(state.NextIndex.ValueInt64()), opUpdate, &resp.State, &resp.Diagnostics)
}

const (
	opCreate = "create"
	opUpdate = "update"
)

// apply makes EC2 match the plan within timeout, starting from what EC2 has (which also adopts, as they are,
// the nodes of an earlier run that was killed before it recorded them).
//
// GOTCHA: Terraform taints a resource whose Create ends in an error, and destroys every node of
// a tainted pool on the next apply. So once instances exist, a Create that fails later (a wait
// that times out, say) records them and ends with a warning; only a Create that launched nothing
// is an error. The recorded quantity and spec are the plan's (Terraform requires it of a
// successful Create); the next refresh reads the pool from EC2 and shows the gap as drift.
func (r *nodePoolResource) apply(ctx context.Context, timeout time.Duration, plan *nodePoolModel, nextIndex int, op string, state *tfsdk.State, diags *diag.Diagnostics) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	spec, unknown, d := plan.fillDerived(ctx)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	if len(unknown) > 0 || plan.ID.IsUnknown() {
		diags.AddError("Node pool inputs unknown at apply", fmt.Sprintf("%s of this pool are still unknown while applying it. This is a bug in the provider; please report it.", strings.Join(unknown, ", ")))
		return
	}
	counter := awsclient.NewCallCounter()
	client, d := r.client(ctx, *plan, counter)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	plan.NextIndex = types.Int64Value(int64(nextIndex))
	pool, d := domainPool(ctx, *plan, spec)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	start := time.Now()
	defer logCalls(ctx, op, pool.ID(), counter)
	current, err := client.ReadPool(ctx, pool.Cluster, pool.Name)
	if err != nil {
		diags.AddError("Cannot read the node pool", fmt.Sprintf("Node pool %s: %s", pool.ID(), err))
		return
	}
	if replaced, removed, err := provisioning.Leaving(pool, current); err == nil && replaced+removed > 0 {
		if c, ok, _ := plan.cluster(ctx); ok {
			if api := clusterAPI(ctx, c); api != nil {
				pool.Remover = apiRemover{api: api, distribution: pool.Spec.Boot.Distribution}
			}
		}
	}
	out, err := client.Reconcile(ctx, pool, current)
	plan.NextIndex = types.Int64Value(int64(out.Next))
	for _, w := range out.Warnings {
		diags.AddWarning("Node not named", w.Error()+"\n\nThe node runs; the next apply names it.")
	}
	if err != nil {
		r.recordFailure(ctx, client, plan, pool, op, out.Launched, err, state, diags)
		return
	}
	list, d := nodesValue(out.Nodes)
	diags.Append(d...)
	plan.Nodes = list
	tflog.Info(ctx, "node pool ready", map[string]any{"pool": pool.ID(), "nodes": len(out.Nodes), "operation": op, "seconds": int(time.Since(start).Seconds())})
	diags.Append(state.Set(ctx, plan)...)
}

// recordFailure records what exists after a failed Reconcile, so nothing is left untracked. launched
// says a RunInstances was sent, so instances may exist even when they cannot be read now.
func (r *nodePoolResource) recordFailure(ctx context.Context, client *provisioning.Client, plan *nodePoolModel, pool provisioning.Pool, op string, launched bool, err error, state *tfsdk.State, diags *diag.Diagnostics) {
	after, rerr := client.ReadPool(context.WithoutCancel(ctx), pool.Cluster, pool.Name)
	if rerr == nil {
		plan.NextIndex = types.Int64Value(int64(provisioning.NextIndex(int(plan.NextIndex.ValueInt64()), after)))
	}
	if op == opCreate {
		switch {
		case rerr == nil && len(after) == 0 || rerr != nil && !launched:
			diags.AddError("Node pool create failed", fmt.Sprintf("Node pool %s: nothing was launched.\n\n%s", pool.ID(), err))
			return
		case rerr != nil:
			// Instances may exist and cannot be read: record the pool with no node rather than
			// fail the create, which would leave them untracked or, once read, tainted.
			after = nil
			err = fmt.Errorf("%w; reading what was launched failed too (%w), so the next refresh reads the nodes from EC2", err, rerr)
		}
		list, d := nodesValue(after)
		diags.Append(d...)
		plan.Nodes = list
		diags.AddWarning("Node pool created incompletely", fmt.Sprintf("Node pool %s has %d of its %d nodes: %s\n\n"+
			"The nodes that exist are recorded. The next plan shows what is missing or different, and the next apply "+
			"continues from there; nothing is destroyed.", pool.ID(), len(after), pool.Quantity, err))
		diags.Append(state.Set(ctx, plan)...)
		return
	}
	if rerr != nil {
		diags.AddError("Node pool "+op+" failed", fmt.Sprintf("Node pool %s could not reach %d nodes, and reading what exists failed too (%s). "+
			"Run apply again: it adopts the pool's instances from their tags.\n\n%s", pool.ID(), pool.Quantity, rerr, err))
		return
	}
	diags.AddError("Node pool "+op+" failed",
		fmt.Sprintf("Node pool %s could not reach %d nodes. Nodes that exist are recorded in the state; the next apply continues from them.\n\n%s", pool.ID(), pool.Quantity, err))
	diags.Append(recordNodes(plan, after)...)
	diags.Append(state.Set(ctx, plan)...)
}

func (r *nodePoolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m nodePoolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	region, cluster, name, err := parsePoolID(m.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Invalid node pool ID", err.Error())
		return
	}
	m.Region, m.Name = types.StringValue(region), types.StringValue(name)
	counter := awsclient.NewCallCounter()
	client, d := r.client(ctx, m, counter)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer logCalls(ctx, "read", m.ID.ValueString(), counter)
	nodes, err := client.ReadPool(ctx, cluster, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the node pool", fmt.Sprintf("Node pool %s: %s", m.ID.ValueString(), err))
		return
	}
	if m.Spec.IsNull() { // just imported: the pool is what its instances' tags say
		if len(nodes) == 0 {
			resp.Diagnostics.AddWarning("Nothing to import", fmt.Sprintf("No live instance is tagged as node pool %s in %s.", name, region))
			resp.State.RemoveResource(ctx)
			return
		}
		n := nodes[0]
		roles := provisioning.RolesOf(n.Roles)
		m.Spec, m.HostnamePrefix = types.StringValue(n.Spec), types.StringValue(n.HostnamePrefix)
		m.Etcd, m.ControlPlane, m.Worker = types.BoolValue(roles.Etcd), types.BoolValue(roles.ControlPlane), types.BoolValue(roles.Worker)
		m.KeyPairName = types.StringNull()
		if n.KeyName != "" {
			m.KeyPairName = types.StringValue(n.KeyName)
		}
	}
	resp.Diagnostics.Append(recordNodes(&m, nodes)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *nodePoolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m nodePoolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout(ctx, m.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics))
	defer cancel()
	_, cluster, name, err := parsePoolID(m.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Invalid node pool ID", err.Error())
		return
	}
	counter := awsclient.NewCallCounter()
	client, d := r.client(ctx, m, counter)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	defer logCalls(ctx, "delete", m.ID.ValueString(), counter)
	if err := client.DeletePool(ctx, cluster, name); err != nil {
		resp.Diagnostics.AddError("Cannot delete the node pool", fmt.Sprintf("Node pool %s: %s\n\nRun destroy again: it continues from what is left.", m.ID.ValueString(), err))
	}
}

// client returns a provisioning client for the pool's region, with the template's credential
// (the SDK's default chain when the pool was just imported), its calls counted.
func (r *nodePoolResource) client(ctx context.Context, p nodePoolModel, counter *awsclient.CallCounter) (*provisioning.Client, diag.Diagnostics) {
	var diags diag.Diagnostics
	if r.data == nil {
		addNotConfigured(&diags)
		return nil, diags
	}
	creds := awsclient.Credentials{Region: p.Region.ValueString()}
	if t, ok, d := p.template(ctx); ok {
		diags.Append(d...)
		if cred, ok, d := t.credential(ctx); ok {
			diags.Append(d...)
			c, d := cred.credentials(ctx)
			diags.Append(d...)
			c.Region = creds.Region
			creds = c
		}
	}
	cfg, err := r.data.aws.Config(ctx, creds)
	if err != nil {
		diags.AddError("Cannot load AWS configuration", err.Error())
		return nil, diags
	}
	return &provisioning.Client{
		EC2:      r.data.aws.EC2(cfg, counter),
		Progress: func(msg string, fields map[string]any) { tflog.Info(ctx, msg, fields) },
		Servers:  r.data.servers,
	}, diags
}

func logCalls(ctx context.Context, op, pool string, counter *awsclient.CallCounter) {
	tflog.Debug(ctx, "EC2 API calls", map[string]any{"operation": op, "pool": pool, "calls": counter.Calls(), "attempts": counter.Attempts(), "total": counter.Total()})
}

// nodesValue converts nodes for the state.
func nodesValue(nodes []provisioning.Node) (types.List, diag.Diagnostics) {
	var diags diag.Diagnostics
	elems := make([]attr.Value, 0, len(nodes))
	for _, n := range nodes {
		roleList, d := types.ListValueFrom(context.Background(), types.StringType, append([]string{}, n.Roles...))
		diags.Append(d...)
		obj, d := types.ObjectValue(nodeAttrTypes, map[string]attr.Value{
			"instance_id": types.StringValue(n.InstanceID), "hostname": types.StringValue(n.Hostname), "name": types.StringValue(n.Name),
			"index": types.Int64Value(int64(n.Index)), "private_ip": types.StringValue(n.PrivateIP),
			"public_ip": types.StringValue(n.PublicIP), "state": types.StringValue(n.State), "roles": roleList,
		})
		diags.Append(d...)
		elems = append(elems, obj)
	}
	list, d := types.ListValue(types.ObjectType{AttrTypes: nodeAttrTypes}, elems)
	diags.Append(d...)
	return list, diags
}

// recordNodes records what EC2 has in m: the nodes, their count, and their spec, which becomes
// "drift:<spec>" when some node was made with another.
func recordNodes(m *nodePoolModel, nodes []provisioning.Node) diag.Diagnostics {
	list, diags := nodesValue(nodes)
	m.Nodes = list
	m.Quantity = types.Int64Value(int64(len(nodes)))
	m.NextIndex = types.Int64Value(int64(provisioning.NextIndex(int(m.NextIndex.ValueInt64()), nodes)))
	for _, n := range nodes {
		if n.Spec != m.Spec.ValueString() {
			m.Spec = types.StringValue("drift:" + n.Spec)
			break
		}
	}
	return diags
}
