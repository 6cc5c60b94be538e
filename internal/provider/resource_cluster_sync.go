package provider

import (
	"context"
	"fmt"
	"net"
	"slices"
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

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/kubeapi"
)

var (
	_ resource.Resource               = (*clusterSyncResource)(nil)
	_ resource.ResourceWithModifyPlan = (*clusterSyncResource)(nil)
)

func newClusterSyncResource() resource.Resource { return &clusterSyncResource{} }

// clusterSyncResource waits for a cluster to be Active and hands out access to it (rancher2's
// cluster_sync): the cluster cannot, since its pools depend on it.
type clusterSyncResource struct{}

// defaultSyncTimeout bounds the wait for the cluster to be Active when the configuration gives none.
const defaultSyncTimeout = 30 * time.Minute

// clusterStateActive is the state of a cluster whose API is ready and whose nodes are all Ready.
const clusterStateActive = "active"

// clusterSyncModel is an ec2k8s_cluster_sync.
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

// syncPoolNodeModel is what the sync reads of each node of a pool.
type syncPoolNodeModel struct {
	Hostname  types.String `tfsdk:"hostname"`
	Index     types.Int64  `tfsdk:"index"`
	PrivateIP types.String `tfsdk:"private_ip"`
	PublicIP  types.String `tfsdk:"public_ip"`
	State     types.String `tfsdk:"state"`
}

// The attributes of an element of nodes and of projects.
var (
	syncNodeAttrTypes = map[string]attr.Type{
		"name": types.StringType, "pool": types.StringType, "roles": types.ListType{ElemType: types.StringType},
		"ready": types.BoolType, "kubelet_version": types.StringType,
	}
	projectAttrTypes = map[string]attr.Type{"name": types.StringType, "namespaces": types.ListType{ElemType: types.StringType}}
)

// cluster decodes the cluster the sync receives.
func (m clusterSyncModel) cluster(ctx context.Context) (c clusterModel, ok bool, diags diag.Diagnostics) {
	if m.Cluster.IsNull() || m.Cluster.IsUnknown() {
		return c, false, nil
	}
	diags = m.Cluster.As(ctx, &c, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true})
	return c, !diags.HasError(), diags
}

// clusterPKI reads the cluster's CA set from its secrets: known false when they are unknown (the
// cluster is being created or replaced), a nil PKI when there are none (an imported cluster) or
// they cannot be read (the apply says why).
func (m clusterSyncModel) clusterPKI(ctx context.Context) (pki *bootstrap.PKI, known bool) {
	if m.Cluster.IsUnknown() {
		return nil, false
	}
	c, ok, _ := m.cluster(ctx)
	switch {
	case ok && c.Secrets.IsUnknown():
		return nil, false
	case !ok || c.Secrets.ValueString() == "": // null: an imported cluster
		return nil, true
	}
	p, err := bootstrap.DecodePKI(c.Secrets.ValueString())
	if err != nil {
		return nil, true
	}
	return p, true
}

// syncPool is a pool as the sync sees it: its roles, node names and API addresses.
type syncPool struct {
	name         string
	roles        []string
	names        []string
	notRunning   []string // nodes whose instance the pool last saw in another state
	firstAddress string   // the lowest-numbered node's address users reach the API by
}

// pools decodes the pools the sync receives.
func (m clusterSyncModel) pools(ctx context.Context) ([]syncPool, diag.Diagnostics) {
	var pools []syncPoolModel
	diags := m.NodePools.ElementsAs(ctx, &pools, false)
	var out []syncPool
	for _, p := range pools {
		sp := syncPool{name: p.Name.ValueString()}
		for role, on := range map[string]bool{"etcd": p.Etcd.ValueBool(), "controlplane": p.ControlPlane.ValueBool(), "worker": p.Worker.ValueBool()} {
			if on {
				sp.roles = append(sp.roles, role)
			}
		}
		slices.Sort(sp.roles)
		private := false
		if !p.NodeTemplate.IsNull() && !p.NodeTemplate.IsUnknown() {
			if v, ok := p.NodeTemplate.Attributes()["use_private_address"].(types.Bool); ok {
				private = v.ValueBool()
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
				if private || sp.firstAddress == "" {
					sp.firstAddress = n.PrivateIP.ValueString()
				}
			}
		}
		out = append(out, sp)
	}
	return out, diags
}

// apiServerURL is the API's URL: the cluster's api_server_url, its registration address on
// 6443, or the first control-plane node's address on 6443; ok is false while unknown or absent.
func (m clusterSyncModel) apiServerURL(ctx context.Context) (string, bool, diag.Diagnostics) {
	c, ok, diags := m.cluster(ctx)
	if !ok || c.APIServerURL.IsUnknown() || c.RegistrationAddress.IsUnknown() || m.NodePools.IsUnknown() {
		return "", false, diags
	}
	if u := c.configuredAPIURL(); u != "" {
		return u, true, diags
	}
	pools, d := m.pools(ctx)
	diags.Append(d...)
	for _, p := range pools {
		if slices.Contains(p.roles, "controlplane") && p.firstAddress != "" {
			return "https://" + net.JoinHostPort(p.firstAddress, "6443"), true, diags
		}
	}
	return "", false, diags
}

// members are the cluster's members; known is false while the list is unknown.
func (m clusterSyncModel) members(ctx context.Context) (members []kubeapi.Member, known bool) {
	c, ok, _ := m.cluster(ctx)
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
			"the cluster cannot, since its node pools depend on it. Create and update fail at once when a pool last saw one of its instances not running, " +
			"and otherwise wait until the API answers `/readyz` and every node of the pools is registered and `Ready`; then they give the cluster's " +
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
