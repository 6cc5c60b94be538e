package provider

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/kubeapi"
)

func (r *clusterSyncResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan clusterSyncModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.sync(ctx, opTimeout(ctx, plan.Timeouts.Create, defaultSyncTimeout, &resp.Diagnostics), plan, nil, &resp.State, &resp.Diagnostics)
}

func (r *clusterSyncResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state clusterSyncModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.sync(ctx, opTimeout(ctx, plan.Timeouts.Update, defaultSyncTimeout, &resp.Diagnostics), plan, &state, &resp.State, &resp.Diagnostics)
}

// Read keeps what the last apply saw: the sync is a wait and a set of credentials, and the
// cluster's API may not be reachable from every place a plan runs.
func (r *clusterSyncResource) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {
	// NO-OP: the response starts as the prior state, which is kept.
}

// Delete forgets the access; nothing on the cluster or AWS is removed (the pools remove nodes).
func (r *clusterSyncResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
}

// sync waits for the cluster to be Active, applies members and projects, and records the access.
func (r *clusterSyncResource) sync(ctx context.Context, timeout time.Duration, plan clusterSyncModel, prior *clusterSyncModel, state *tfsdk.State, diags *diag.Diagnostics) {
	c, _, d := plan.cluster(ctx)
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
	url, ok, d := plan.apiServerURL(ctx)
	diags.Append(d...)
	if !ok {
		diags.AddError("No address for the cluster's API",
			"Give the cluster api_server_url or registration_address, or a node pool with control_plane = true that has nodes.")
		return
	}
	now := time.Now()
	admin := bootstrap.ClientCert{}
	if prior != nil && keepCert(prior.ClientCertificate.ValueString(), now, pki) {
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
	pools, d := plan.pools(ctx)
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
	// Unknown members at apply would read as none and take every member's bindings away.
	members, known := plan.members(ctx)
	if !known {
		diags.AddError("The cluster's members are unknown at apply",
			fmt.Sprintf("The members of cluster %s cannot be read while applying the sync. This is a bug in the provider; please report it.", c.Name.ValueString()))
		return
	}
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	status, err := client.WaitActive(waitCtx, expected)
	if err != nil {
		diags.AddError("The cluster did not become Active", fmt.Sprintf("Waited %s at %s: %v", timeout, url, err))
		return
	}
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
			if old, ok := prior.MemberCertificates.Elements()[m.Name].(types.String); ok && keepCert(old.ValueString(), now, pki) {
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
