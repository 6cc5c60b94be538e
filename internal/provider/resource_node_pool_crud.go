package provider

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// specInput is everything the nodes are made and booted with: its hash is the pool's spec.
// The credential is not in it, so rotating keys replaces no node.
type specInput struct {
	Launch    provisioning.LaunchSpec
	Node      bootstrap.Node
	Engine    engineSettings
	PublicKey string
}

type engineSettings struct {
	InstallURL         string
	RegistryMirrors    []string
	InsecureRegistries []string
	Labels             map[string]string
	Options            map[string]string
	Env                map[string]string
	StorageDriver      string
}

// poolSpec hashes the pool's spec; known is false while an input is unknown.
func poolSpec(ctx context.Context, p poolModel, t templateModel, tOK bool, c clusterModel, cOK bool) (string, bool, diag.Diagnostics) {
	if !tOK || !cOK || p.HostnamePrefix.IsUnknown() || p.SSHPublicKey.IsUnknown() {
		return "", false, nil
	}
	in, known, diags := specOf(ctx, p, t, c)
	if !known || diags.HasError() {
		return "", false, diags
	}
	hash, err := provisioning.SpecHash(in)
	if err != nil {
		diags.AddError("Cannot hash node spec", err.Error())
		return "", false, diags
	}
	return hash, true, diags
}

// specOf converts a pool and what it receives into plain Go; known is false while a value is
// unknown.
func specOf(ctx context.Context, p poolModel, t templateModel, c clusterModel) (specInput, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	for _, v := range []attr.Value{t.Region, t.AvailabilityZone, t.VPCID, t.SubnetID, t.SecurityGroups, t.AMI, t.InstanceType,
		t.RootSize, t.Tags, t.NodeLabels, t.NodeTaints, t.UserData, t.OpenPorts, t.SSHCIDRBlocks, t.UsePrivateAddress,
		c.Name, c.Distribution, c.KubernetesVersion, c.NetworkPlugin, c.EnableNetworkPolicy, c.CloudProvider} {
		if v.IsUnknown() {
			return specInput{}, false, nil
		}
	}
	str := func(v types.String) string { return v.ValueString() }
	list := func(v attr.Value) []string {
		var out []string
		switch v := v.(type) {
		case types.Set:
			diags.Append(v.ElementsAs(ctx, &out, false)...)
		case types.List:
			diags.Append(v.ElementsAs(ctx, &out, false)...)
		}
		return out
	}
	dict := func(v types.Map) map[string]string {
		out := map[string]string{}
		diags.Append(v.ElementsAs(ctx, &out, false)...)
		return out
	}
	var taints []struct {
		Key    types.String `tfsdk:"key"`
		Value  types.String `tfsdk:"value"`
		Effect types.String `tfsdk:"effect"`
	}
	diags.Append(t.NodeTaints.ElementsAs(ctx, &taints, false)...)
	var taintStrings []string
	for _, tn := range taints {
		taintStrings = append(taintStrings, fmt.Sprintf("%s=%s:%s", tn.Key.ValueString(), tn.Value.ValueString(), tn.Effect.ValueString()))
	}
	in := specInput{
		Launch: provisioning.LaunchSpec{
			Region: str(t.Region), AvailabilityZone: str(t.AvailabilityZone), VPCID: str(t.VPCID), SubnetID: str(t.SubnetID),
			SecurityGroups: list(t.SecurityGroups), SecurityGroupReadonly: t.SecurityGroupReadonly.ValueBool(),
			OpenPorts: list(t.OpenPorts), SSHCIDRBlocks: list(t.SSHCIDRBlocks),
			AMI: str(t.AMI), InstanceType: str(t.InstanceType), RootSize: t.RootSize.ValueInt64(), VolumeType: str(t.VolumeType),
			Encrypted: t.Encrypted.ValueBool(), KMSKeyID: str(t.KMSKeyID), IAMInstanceProfile: str(t.IAMInstanceProfile),
			PrivateAddressOnly: t.PrivateAddressOnly.ValueBool(), SpotInstance: t.RequestSpotInstance.ValueBool(),
			SpotPrice: t.SpotPrice.ValueFloat64(), Monitoring: t.Monitoring.ValueBool(), EBSOptimized: t.EBSOptimized.ValueBool(),
			HTTPTokens: str(t.HTTPTokens), HopLimit: t.HTTPPutResponseHopLimit.ValueInt64(), Tags: dict(t.Tags),
		},
		Node: bootstrap.Node{
			Cluster: str(c.Name), Distribution: str(c.Distribution), KubernetesVersion: str(c.KubernetesVersion),
			NetworkPlugin: str(c.NetworkPlugin), CloudProvider: str(c.CloudProvider), Pool: str(p.Name),
			HostnamePrefix: str(p.HostnamePrefix), Roles: p.roles().List(), Labels: dict(t.NodeLabels), Taints: taintStrings,
			ExtraUserData: str(t.UserData),
		},
		Engine: engineSettings{
			InstallURL: str(t.EngineInstallURL), RegistryMirrors: list(t.EngineRegistryMirrors), InsecureRegistries: list(t.EngineInsecureRegistries),
			Labels: dict(t.EngineLabels), Options: dict(t.EngineOptions), Env: dict(t.EngineEnv), StorageDriver: str(t.EngineStorageDriver),
		},
		PublicKey: str(p.SSHPublicKey),
	}
	return in, true, diags
}

// domainPool builds the provisioning client's Pool from a fully known plan or state.
func domainPool(ctx context.Context, p poolModel) (provisioning.Pool, diag.Diagnostics) {
	t, _, diags := p.template(ctx)
	c, _, d := p.cluster(ctx)
	diags.Append(d...)
	in, _, d := specOf(ctx, p, t, c)
	diags.Append(d...)
	node := in.Node
	return provisioning.Pool{
		Cluster: c.Name.ValueString(), Name: p.Name.ValueString(), HostnamePrefix: p.HostnamePrefix.ValueString(),
		Quantity: int(p.Quantity.ValueInt64()), Roles: p.roles(), Launch: in.Launch, Spec: p.Spec.ValueString(),
		KeyPairName: p.KeyPairName.ValueString(), PublicKey: p.SSHPublicKey.ValueString(),
		UserData: func(indexBase int) ([]byte, error) {
			n := node
			n.IndexBase = indexBase
			return bootstrap.UserData(n)
		},
	}, diags
}

// client returns a provisioning client for the pool's region, with the template's credential
// (the SDK's default chain when the pool was just imported), its calls counted.
func (r *poolResource) client(ctx context.Context, p poolModel, counter *awsclient.CallCounter) (*provisioning.Client, diag.Diagnostics) {
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
			"instance_id": types.StringValue(n.InstanceID), "hostname": types.StringValue(n.Hostname),
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

// observe records what EC2 has in m: the nodes, their count, and their spec, which becomes
// "drift:<spec>" when some node was made with another.
func observe(m *poolModel, nodes []provisioning.Node) diag.Diagnostics {
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

func (r *poolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !r.prepareKeys(&plan, &resp.Diagnostics) {
		return
	}
	r.apply(ctx, &plan, 0, "create", &resp.State, &resp.Diagnostics)
}

func (r *poolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state poolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !r.prepareKeys(&plan, &resp.Diagnostics) {
		return
	}
	if !state.SSHPublicKey.IsNull() && !plan.SSHPublicKey.Equal(state.SSHPublicKey) {
		// The key pair must carry the new public key: new nodes get it, existing ones keep theirs.
		client, d := r.client(ctx, plan, nil)
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
		if err := client.DeleteKeyPair(ctx, plan.KeyPairName.ValueString()); err != nil {
			resp.Diagnostics.AddError("Cannot replace the key pair", err.Error())
			return
		}
	}
	r.apply(ctx, &plan, int(state.NextIndex.ValueInt64()), "update", &resp.State, &resp.Diagnostics)
}

// prepareKeys generates the pool's SSH key when the plan leaves it to the provider.
func (r *poolResource) prepareKeys(plan *poolModel, diags *diag.Diagnostics) bool {
	if !plan.SSHPublicKey.IsUnknown() {
		return true
	}
	key, err := bootstrap.NewSSHKey(rand.Reader, plan.KeyPairName.ValueString())
	if err != nil {
		diags.AddError("Cannot generate an SSH key", err.Error())
		return false
	}
	plan.SSHPublicKey = types.StringValue(key.AuthorizedKey)
	plan.SSHPrivateKey = types.StringValue(key.PrivateKeyPEM)
	return true
}

// apply makes EC2 match the plan, starting from what EC2 has (which also adopts nodes of an
// interrupted earlier run). On failure it still records the nodes that exist, so nothing is
// left untracked: Terraform then marks the pool tainted.
func (r *poolResource) apply(ctx context.Context, plan *poolModel, nextIndex int, op string, state stateSetter, diags *diag.Diagnostics) {
	diags.Append(plan.fillDerived(ctx)...)
	if diags.HasError() {
		return
	}
	if plan.Spec.IsUnknown() || plan.ID.IsUnknown() {
		diags.AddError("Node pool inputs unknown at apply", "The cluster or node template of this pool is still unknown while applying it. This is a bug in the provider; please report it.")
		return
	}
	counter := awsclient.NewCallCounter()
	client, d := r.client(ctx, *plan, counter)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	pool, d := domainPool(ctx, *plan)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	pool.NextIndex = nextIndex
	plan.NextIndex = types.Int64Value(int64(nextIndex))
	start := time.Now()
	defer logCalls(ctx, op, pool.ID(), counter)
	current, err := client.ReadPool(ctx, pool.Cluster, pool.Name)
	if err != nil {
		diags.AddError("Cannot read the node pool", fmt.Sprintf("Node pool %s: %s", pool.ID(), err))
		return
	}
	nodes, next, err := client.Reconcile(ctx, pool, current)
	plan.NextIndex = types.Int64Value(int64(next))
	if err != nil {
		diags.AddError("Node pool "+op+" failed",
			fmt.Sprintf("Node pool %s could not reach %d nodes. Nodes that exist are recorded in the state; the next apply continues from them.\n\n%s", pool.ID(), pool.Quantity, err))
		if after, rerr := client.ReadPool(context.WithoutCancel(ctx), pool.Cluster, pool.Name); rerr == nil {
			diags.Append(observe(plan, after)...)
			diags.Append(state.Set(ctx, plan)...)
		}
		return
	}
	list, d := nodesValue(nodes)
	diags.Append(d...)
	plan.Nodes = list
	tflog.Info(ctx, "node pool ready", map[string]any{"pool": pool.ID(), "nodes": len(nodes), "operation": op, "seconds": int(time.Since(start).Seconds())})
	diags.Append(state.Set(ctx, plan)...)
}

func (r *poolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m poolModel
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
	if m.Spec.IsNull() && len(nodes) > 0 { // just imported: take what the nodes' tags say
		n := nodes[0]
		m.Spec = types.StringValue(n.Spec)
		m.KeyPairName = types.StringValue(keyPairName(cluster, name))
		m.HostnamePrefix = types.StringValue(n.HostnamePrefix)
		m.Etcd = types.BoolValue(contains(n.Roles, "etcd"))
		m.ControlPlane = types.BoolValue(contains(n.Roles, "controlplane"))
		m.Worker = types.BoolValue(contains(n.Roles, "worker"))
	}
	resp.Diagnostics.Append(observe(&m, nodes)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *poolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m poolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := m.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
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
	if err := client.DeletePool(ctx, provisioning.Pool{Cluster: cluster, Name: name, KeyPairName: keyPairName(cluster, name)}); err != nil {
		resp.Diagnostics.AddError("Cannot delete the node pool", fmt.Sprintf("Node pool %s: %s\n\nRun destroy again: it continues from what is left.", m.ID.ValueString(), err))
	}
}

func (r *poolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	region, _, name, err := parsePoolID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("region"), region)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}
