package provider

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/kubeapi"
)

var (
	_ resource.Resource               = (*clusterSyncResource)(nil)
	_ resource.ResourceWithModifyPlan = (*clusterSyncResource)(nil)
)

// defaultSyncTimeout bounds the wait for the cluster to be Active when the configuration gives none.
const defaultSyncTimeout = 30 * time.Minute

// clusterStateActive is the state of a cluster whose API is ready and whose nodes are all Ready.
const clusterStateActive = "active"

func newClusterSyncResource() resource.Resource { return &clusterSyncResource{} }

// clusterSyncResource waits for a cluster to be Active and hands out access to it (rancher2's
// cluster_sync): the cluster cannot, since its pools depend on it.
type clusterSyncResource struct{}

type clusterSyncModel struct {
	ID                   types.String   `tfsdk:"id"`
	Cluster              types.Object   `tfsdk:"cluster"`
	NodePools            types.List     `tfsdk:"node_pools"`
	State                types.String   `tfsdk:"state"`
	APIServerURL         types.String   `tfsdk:"api_server_url"`
	KubernetesVersion    types.String   `tfsdk:"kubernetes_version"`
	Kubeconfig           types.String   `tfsdk:"kubeconfig"`
	ClientCertificate    types.String   `tfsdk:"client_certificate"`
	ClientKey            types.String   `tfsdk:"client_key"`
	ClusterCACertificate types.String   `tfsdk:"cluster_ca_certificate"`
	MemberCertificates   types.Map      `tfsdk:"member_certificates"`
	MemberKubeconfigs    types.Map      `tfsdk:"member_kubeconfigs"`
	Nodes                types.List     `tfsdk:"nodes"`
	Projects             types.List     `tfsdk:"projects"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

// syncPoolModel is what the sync reads of each pool it receives (a pool passed whole converts to
// it: Terraform drops the attributes it does not name).
type syncPoolModel struct {
	ID           types.String `tfsdk:"id"`
	Name         types.String `tfsdk:"name"`
	Etcd         types.Bool   `tfsdk:"etcd"`
	ControlPlane types.Bool   `tfsdk:"control_plane"`
	Worker       types.Bool   `tfsdk:"worker"`
	Nodes        types.List   `tfsdk:"nodes"`
	NodeTemplate types.Object `tfsdk:"node_template"`
}

type syncPoolNodeModel struct {
	Hostname  types.String `tfsdk:"hostname"`
	Index     types.Int64  `tfsdk:"index"`
	PrivateIP types.String `tfsdk:"private_ip"`
	PublicIP  types.String `tfsdk:"public_ip"`
	State     types.String `tfsdk:"state"`
}

var (
	syncNodeAttrTypes = map[string]attr.Type{
		"name": types.StringType, "pool": types.StringType, "roles": types.ListType{ElemType: types.StringType},
		"ready": types.BoolType, "kubelet_version": types.StringType,
	}
	projectAttrTypes = map[string]attr.Type{"name": types.StringType, "namespaces": types.ListType{ElemType: types.StringType}}
)

func (r *clusterSyncResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster_sync"
}

func (r *clusterSyncResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	var cluster resource.SchemaResponse
	(&clusterResource{}).Schema(ctx, resource.SchemaRequest{}, &cluster)
	useState := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	optional := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Waits until a cluster is **Active** and hands out access to it, like rancher2's `cluster_sync`: " +
			"the cluster cannot, since its node pools depend on it. Create and update wait until every pool's instances run, " +
			"the API answers `/readyz` and every node of the pools is registered and `Ready`; then they give the cluster's " +
			"members their RBAC bindings, label the Default and System projects' namespaces (with project network isolation " +
			"when the cluster enables network policy), and issue client certificates from the cluster's client CA: an admin " +
			"`kubeconfig` and one per member. Certificates are valid a year and issued again by an apply when less than 30 " +
			"days remain; a certificate cannot be revoked, so a removed member loses access by losing its bindings.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, PlanModifiers: useState,
				MarkdownDescription: "The cluster's name."},
			"cluster": schema.SingleNestedAttribute{Required: true, Attributes: receivedAttributes(cluster.Schema.Attributes),
				MarkdownDescription: "The cluster, passed whole: `cluster = ec2k8s_cluster.demo`."},
			"node_pools": schema.ListNestedAttribute{Required: true,
				MarkdownDescription: "The cluster's node pools, each passed whole: `node_pools = [ec2k8s_node_pool.etcd, ec2k8s_node_pool.workers]`. Their nodes are the nodes the cluster must have.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":            optional("The pool's ID."),
					"name":          optional("The pool's name."),
					"etcd":          schema.BoolAttribute{Optional: true, MarkdownDescription: "The etcd role."},
					"control_plane": schema.BoolAttribute{Optional: true, MarkdownDescription: "The control plane role."},
					"worker":        schema.BoolAttribute{Optional: true, MarkdownDescription: "The worker role."},
					"nodes": schema.ListNestedAttribute{Optional: true, MarkdownDescription: "The pool's nodes.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"hostname":   optional("Node name."),
							"index":      schema.Int64Attribute{Optional: true, MarkdownDescription: "Node number."},
							"private_ip": optional("Private IPv4 address."),
							"public_ip":  optional("Public IPv4 address."),
							"state":      optional("Instance state."),
						}}},
					"node_template": schema.SingleNestedAttribute{Optional: true, MarkdownDescription: "The pool's node template.",
						Attributes: map[string]schema.Attribute{
							"use_private_address": schema.BoolAttribute{Optional: true, MarkdownDescription: "Reach the API on private addresses."},
						}},
				}}},
			"state": schema.StringAttribute{Computed: true, PlanModifiers: useState,
				MarkdownDescription: "`active` once the cluster is Active."},
			"api_server_url": schema.StringAttribute{Computed: true,
				MarkdownDescription: "The API's URL: the cluster's `api_server_url`, else `https://<registration_address>:6443`, else the first control-plane node's public address (private when its template has `use_private_address`) on 6443."},
			"kubernetes_version": schema.StringAttribute{Computed: true, PlanModifiers: useState,
				MarkdownDescription: "The version the API server reports."},
			"kubeconfig": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: useState,
				MarkdownDescription: "An admin kubeconfig (client certificate of `" + bootstrap.AdminUser + "` in `system:masters`)."},
			"client_certificate": schema.StringAttribute{Computed: true, PlanModifiers: useState,
				MarkdownDescription: "The admin client certificate, PEM: for the kubernetes and helm providers."},
			"client_key": schema.StringAttribute{Computed: true, Sensitive: true, PlanModifiers: useState,
				MarkdownDescription: "The admin client certificate's key, PEM."},
			"cluster_ca_certificate": schema.StringAttribute{Computed: true, PlanModifiers: useState,
				MarkdownDescription: "The cluster's server CA bundle, PEM."},
			"member_certificates": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Each member's client certificate, PEM, by member name (the certificate's CommonName)."},
			"member_kubeconfigs": schema.MapAttribute{Computed: true, Sensitive: true, ElementType: types.StringType,
				MarkdownDescription: "A kubeconfig per member, by member name, to hand out access without sharing the admin's."},
			"nodes": schema.ListNestedAttribute{Computed: true,
				MarkdownDescription: "The nodes the API has, as of the last apply.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":            schema.StringAttribute{Computed: true, MarkdownDescription: "Node name."},
					"pool":            schema.StringAttribute{Computed: true, MarkdownDescription: "Its node pool; empty for a node of no pool."},
					"roles":           schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Its pool's roles."},
					"ready":           schema.BoolAttribute{Computed: true, MarkdownDescription: "The node is Ready."},
					"kubelet_version": schema.StringAttribute{Computed: true, MarkdownDescription: "Its kubelet's version."},
				}}},
			"projects": schema.ListNestedAttribute{Computed: true,
				MarkdownDescription: "The Default and System projects and their namespaces.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":       schema.StringAttribute{Computed: true, MarkdownDescription: "`default` or `system`."},
					"namespaces": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Its namespaces."},
				}}},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true}),
		},
	}
}

// ModifyPlan keeps the access as it is unless a certificate must be issued again (under 30 days
// left, a new member) or the API's address changes.
func (r *clusterSyncResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state clusterSyncModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if req.State.Raw.IsNull() {
		// A new sync: the plan shows the URL it will use when the inputs are known.
		if url, ok, _ := syncAPIServerURL(ctx, plan); ok && !resp.Diagnostics.HasError() {
			plan.APIServerURL = types.StringValue(url)
			resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		}
		return
	}
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	members, known := syncMembers(ctx, plan)
	renewAdmin, renewMembers := certRenewals(state.ClientCertificate.ValueString(), state.MemberCertificates.Elements(), members, known, time.Now())
	if renewAdmin {
		plan.ClientCertificate, plan.ClientKey, plan.Kubeconfig = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	}
	if url, ok, _ := syncAPIServerURL(ctx, plan); ok {
		plan.APIServerURL = types.StringValue(url)
		if url != state.APIServerURL.ValueString() {
			plan.Kubeconfig = types.StringUnknown()
		}
	} else {
		plan.APIServerURL, plan.Kubeconfig = types.StringUnknown(), types.StringUnknown()
	}
	if renewMembers {
		plan.MemberCertificates, plan.MemberKubeconfigs = types.MapUnknown(types.StringType), types.MapUnknown(types.StringType)
	} else {
		plan.MemberCertificates, plan.MemberKubeconfigs = state.MemberCertificates, state.MemberKubeconfigs
	}
	changed := !plan.Cluster.Equal(state.Cluster) || !plan.NodePools.Equal(state.NodePools)
	if changed {
		plan.Nodes, plan.Projects, plan.State = types.ListUnknown(types.ObjectType{AttrTypes: syncNodeAttrTypes}),
			types.ListUnknown(types.ObjectType{AttrTypes: projectAttrTypes}), types.StringUnknown()
	} else {
		plan.Nodes, plan.Projects = state.Nodes, state.Projects
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *clusterSyncResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan clusterSyncModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultSyncTimeout)
	resp.Diagnostics.Append(d...)
	r.sync(ctx, timeout, plan, nil, &resp.State, &resp.Diagnostics)
}

func (r *clusterSyncResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state clusterSyncModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultSyncTimeout)
	resp.Diagnostics.Append(d...)
	r.sync(ctx, timeout, plan, &state, &resp.State, &resp.Diagnostics)
}

// Read keeps what the last apply saw: the sync is a wait and a set of credentials, and the
// cluster's API may not be reachable from every place a plan runs.
func (r *clusterSyncResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state clusterSyncModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

// Delete forgets the access; nothing on the cluster or AWS is removed (the pools remove nodes).
func (r *clusterSyncResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
}

// sync waits for the cluster to be Active, applies members and projects, and records the access.
func (r *clusterSyncResource) sync(ctx context.Context, timeout time.Duration, plan clusterSyncModel, prior *clusterSyncModel, state stateSetter, diags *diag.Diagnostics) {
	c, _, d := syncCluster(ctx, plan)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	if c.Secrets.IsNull() || c.Secrets.ValueString() == "" {
		diags.AddError("The cluster has no CA keys in the state",
			fmt.Sprintf("Cluster %s was imported, so its client CA key is not in the state and no client certificate can be issued: keep the state that created the cluster.", c.Name.ValueString()))
		return
	}
	pki, err := bootstrap.DecodePKI(c.Secrets.ValueString())
	if err != nil {
		diags.AddError("Cannot read the cluster's CA set", err.Error())
		return
	}
	url, ok, d := syncAPIServerURL(ctx, plan)
	diags.Append(d...)
	if !ok {
		diags.AddError("No address for the cluster's API",
			"Give the cluster api_server_url or registration_address, or a node pool with control_plane = true that has nodes.")
		return
	}
	now := time.Now()
	admin := bootstrap.ClientCert{}
	if prior != nil && !bootstrap.NeedsRenewal(prior.ClientCertificate.ValueString(), now) {
		admin = bootstrap.ClientCert{Cert: prior.ClientCertificate.ValueString(), Key: prior.ClientKey.ValueString()}
	} else if admin, err = pki.IssueClientCert(rand.Reader, now, bootstrap.AdminUser, bootstrap.AdminGroup); err != nil {
		diags.AddError("Cannot issue the admin client certificate", err.Error())
		return
	}
	ca := pki.ServerCABundle()
	client, err := kubeapi.New(kubeapi.Access{URL: url, CA: ca, Cert: admin.Cert, Key: admin.Key})
	if err != nil {
		diags.AddError("Cannot make a client of the cluster's API", err.Error())
		return
	}
	client.Progress = func(msg string, fields map[string]any) { tflog.Info(ctx, msg, fields) }
	pools, d := syncPools(ctx, plan)
	diags.Append(d...)
	var expected, notRunning []string
	for _, p := range pools {
		expected, notRunning = append(expected, p.names...), append(notRunning, p.notRunning...)
	}
	if len(notRunning) > 0 {
		diags.AddError("The cluster's instances are not all running",
			fmt.Sprintf("As their node pools last saw them: %s. Apply the pools again (they repair their nodes), then the sync.", strings.Join(notRunning, ", ")))
		return
	}
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status, err := client.WaitActive(waitCtx, expected)
	if err != nil {
		diags.AddError("The cluster did not become Active", fmt.Sprintf("Waited %s at %s: %v", timeout, url, err))
		return
	}
	members, _ := syncMembers(ctx, plan)
	if err := client.ApplyMembers(ctx, members, kubeapi.DefaultNamespaces); err != nil {
		diags.AddError("Cannot apply the cluster's members", err.Error())
		return
	}
	projects, err := client.ApplyProjects(ctx, c.EnableNetworkPolicy.ValueBool())
	if err != nil {
		diags.AddError("Cannot apply the cluster's projects", err.Error())
		return
	}
	kubeconfig, err := bootstrap.Kubeconfig(c.Name.ValueString(), url, ca, bootstrap.AdminUser, admin)
	if err != nil {
		diags.AddError("Cannot write the admin kubeconfig", err.Error())
		return
	}
	certs, kubeconfigs := map[string]attr.Value{}, map[string]attr.Value{}
	for _, m := range members {
		cert := bootstrap.ClientCert{}
		if prior != nil {
			if old, ok := prior.MemberCertificates.Elements()[m.Name].(types.String); ok && !bootstrap.NeedsRenewal(old.ValueString(), now) {
				if key, ok := prior.MemberKubeconfigs.Elements()[m.Name].(types.String); ok {
					cert = memberCertFromKubeconfig(old.ValueString(), key.ValueString())
				}
			}
		}
		if cert.Key == "" {
			if cert, err = pki.IssueClientCert(rand.Reader, now, m.Name); err != nil {
				diags.AddError("Cannot issue a member's client certificate", err.Error())
				return
			}
		}
		kc, err := bootstrap.Kubeconfig(c.Name.ValueString(), url, ca, m.Name, cert)
		if err != nil {
			diags.AddError("Cannot write a member's kubeconfig", err.Error())
			return
		}
		certs[m.Name], kubeconfigs[m.Name] = types.StringValue(cert.Cert), types.StringValue(kc)
	}
	plan.ID = types.StringValue(c.Name.ValueString())
	plan.State = types.StringValue(clusterStateActive)
	plan.APIServerURL, plan.KubernetesVersion = types.StringValue(url), types.StringValue(status.Version)
	plan.Kubeconfig, plan.ClientCertificate, plan.ClientKey = types.StringValue(kubeconfig), types.StringValue(admin.Cert), types.StringValue(admin.Key)
	plan.ClusterCACertificate = types.StringValue(ca)
	plan.MemberCertificates, plan.MemberKubeconfigs = types.MapValueMust(types.StringType, certs), types.MapValueMust(types.StringType, kubeconfigs)
	plan.Nodes = syncNodesValue(status, pools)
	plan.Projects = projectsValue(projects)
	tflog.Info(ctx, "the cluster is Active", map[string]any{"cluster": c.Name.ValueString(), "nodes": len(status.Nodes), "version": status.Version})
	diags.Append(state.Set(ctx, &plan)...)
}

// memberCertFromKubeconfig recovers a member's key from its kubeconfig, so a certificate that is
// still valid is kept as it is.
func memberCertFromKubeconfig(cert, kubeconfig string) bootstrap.ClientCert {
	key, err := bootstrap.KubeconfigClientKey(kubeconfig)
	if err != nil {
		return bootstrap.ClientCert{}
	}
	return bootstrap.ClientCert{Cert: cert, Key: key}
}

// syncCluster decodes the cluster the sync receives.
func syncCluster(ctx context.Context, m clusterSyncModel) (c clusterModel, ok bool, diags diag.Diagnostics) {
	if m.Cluster.IsNull() || m.Cluster.IsUnknown() {
		return c, false, nil
	}
	diags = m.Cluster.As(ctx, &c, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true})
	return c, !diags.HasError(), diags
}

// syncPool is a pool as the sync sees it: its roles, node names and API addresses.
type syncPool struct {
	name             string
	roles            []string
	names            []string
	notRunning       []string // nodes whose instance the pool last saw in another state
	controlPlane     bool
	firstAddress     string // the lowest-numbered node's address users reach the API by
	privateAddresses bool
}

func syncPools(ctx context.Context, m clusterSyncModel) ([]syncPool, diag.Diagnostics) {
	var pools []syncPoolModel
	diags := m.NodePools.ElementsAs(ctx, &pools, false)
	var out []syncPool
	for _, p := range pools {
		sp := syncPool{name: p.Name.ValueString(), controlPlane: p.ControlPlane.ValueBool()}
		for role, on := range map[string]bool{"etcd": p.Etcd.ValueBool(), "controlplane": p.ControlPlane.ValueBool(), "worker": p.Worker.ValueBool()} {
			if on {
				sp.roles = append(sp.roles, role)
			}
		}
		slices.Sort(sp.roles)
		if !p.NodeTemplate.IsNull() && !p.NodeTemplate.IsUnknown() {
			if v, ok := p.NodeTemplate.Attributes()["use_private_address"].(types.Bool); ok {
				sp.privateAddresses = v.ValueBool()
			}
		}
		var nodes []syncPoolNodeModel
		if !p.Nodes.IsNull() && !p.Nodes.IsUnknown() {
			diags.Append(p.Nodes.ElementsAs(ctx, &nodes, false)...)
		}
		lowest := int64(-1)
		for _, n := range nodes {
			sp.names = append(sp.names, n.Hostname.ValueString())
			if st := n.State.ValueString(); st != "running" {
				sp.notRunning = append(sp.notRunning, fmt.Sprintf("%s (%s)", n.Hostname.ValueString(), st))
			}
			if lowest < 0 || n.Index.ValueInt64() < lowest {
				lowest = n.Index.ValueInt64()
				sp.firstAddress = n.PublicIP.ValueString()
				if sp.privateAddresses || sp.firstAddress == "" {
					sp.firstAddress = n.PrivateIP.ValueString()
				}
			}
		}
		out = append(out, sp)
	}
	return out, diags
}

// certRenewals says which certificates an apply issues again: the admin's when under 30 days
// remain; the members' when the member list is unknown or changed, or any member's certificate
// is missing or under 30 days from its end.
func certRenewals(admin string, current map[string]attr.Value, members []kubeapi.Member, known bool, now time.Time) (renewAdmin, renewMembers bool) {
	renewMembers = !known || len(members) != len(current)
	for _, m := range members {
		cert, ok := current[m.Name].(types.String)
		if !ok || bootstrap.NeedsRenewal(cert.ValueString(), now) {
			renewMembers = true
		}
	}
	return bootstrap.NeedsRenewal(admin, now), renewMembers
}

// syncAPIServerURL is the API's URL: the cluster's api_server_url, its registration address on
// 6443, or the first control-plane node's address on 6443; ok is false while unknown or absent.
func syncAPIServerURL(ctx context.Context, m clusterSyncModel) (string, bool, diag.Diagnostics) {
	c, ok, diags := syncCluster(ctx, m)
	if !ok || c.APIServerURL.IsUnknown() || c.RegistrationAddress.IsUnknown() || m.NodePools.IsUnknown() {
		return "", false, diags
	}
	if u := c.configuredAPIURL(); u != "" {
		return u, true, diags
	}
	pools, d := syncPools(ctx, m)
	diags.Append(d...)
	for _, p := range pools {
		if p.controlPlane && p.firstAddress != "" {
			return "https://" + net.JoinHostPort(p.firstAddress, "6443"), true, diags
		}
	}
	return "", false, diags
}

// syncMembers are the cluster's members; known is false while the list is unknown.
func syncMembers(ctx context.Context, m clusterSyncModel) (members []kubeapi.Member, known bool) {
	c, ok, _ := syncCluster(ctx, m)
	if !ok || c.Members.IsUnknown() {
		return nil, false
	}
	var list []memberModel
	if d := c.Members.ElementsAs(ctx, &list, false); d.HasError() {
		return nil, false
	}
	for _, mm := range list {
		if mm.Name.IsUnknown() || mm.Role.IsUnknown() {
			return nil, false
		}
		members = append(members, kubeapi.Member{Name: mm.Name.ValueString(), Role: mm.Role.ValueString()})
	}
	return members, true
}

func syncNodesValue(s kubeapi.Status, pools []syncPool) types.List {
	poolOf := map[string]syncPool{}
	for _, p := range pools {
		for _, n := range p.names {
			poolOf[n] = p
		}
	}
	var elems []attr.Value
	for _, n := range s.Nodes {
		p := poolOf[n.Name]
		roles := make([]attr.Value, 0, len(p.roles))
		for _, r := range p.roles {
			roles = append(roles, types.StringValue(r))
		}
		elems = append(elems, types.ObjectValueMust(syncNodeAttrTypes, map[string]attr.Value{
			"name": types.StringValue(n.Name), "pool": types.StringValue(p.name), "roles": types.ListValueMust(types.StringType, roles),
			"ready": types.BoolValue(n.Ready), "kubelet_version": types.StringValue(n.KubeletVersion),
		}))
	}
	return types.ListValueMust(types.ObjectType{AttrTypes: syncNodeAttrTypes}, elems)
}

func projectsValue(ps []kubeapi.Project) types.List {
	var elems []attr.Value
	for _, p := range ps {
		ns := make([]attr.Value, 0, len(p.Namespaces))
		for _, n := range p.Namespaces {
			ns = append(ns, types.StringValue(n))
		}
		elems = append(elems, types.ObjectValueMust(projectAttrTypes, map[string]attr.Value{
			"name": types.StringValue(p.Name), "namespaces": types.ListValueMust(types.StringType, ns),
		}))
	}
	return types.ListValueMust(types.ObjectType{AttrTypes: projectAttrTypes}, elems)
}
