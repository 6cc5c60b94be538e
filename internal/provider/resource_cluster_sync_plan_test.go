package provider

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/kubeapi"
)

// TestCertRenewals: certificates are issued again when under 30 days remain (a year after the
// first apply), members' when the member list changes, and all of them when the cluster's CA set
// is unknown (a replacement) or is not the one that signed them (the cluster created again under
// the same name); otherwise the plan keeps them.
func TestCertRenewals(t *testing.T) {
	issued := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := bootstrap.NewPKI(rand.Reader, issued, "demo")
	if err != nil {
		t.Fatal(err)
	}
	cert := func(user string) string {
		c, err := p.IssueClientCert(rand.Reader, issued, user)
		if err != nil {
			t.Fatal(err)
		}
		return c.Cert
	}
	admin := cert(bootstrap.AdminUser)
	current := map[string]attr.Value{"alice": types.StringValue(cert("alice"))}
	recreated, err := bootstrap.NewPKI(rand.Reader, issued, "demo")
	if err != nil {
		t.Fatal(err)
	}
	alice := []kubeapi.Member{{Name: "alice", Role: kubeapi.RoleOwner}}
	for _, tc := range []struct {
		name                       string
		admin                      string
		members                    []kubeapi.Member
		known                      bool
		now                        time.Time
		wantAdmin, wantMemberCerts bool
		ca                         string // the cluster's CA set at plan: "" this one, "none", "unknown", "recreated"
	}{
		{"a day later: kept", admin, alice, true, issued.AddDate(0, 0, 1), false, false, ""},
		{"31 days before the end: kept", admin, alice, true, issued.AddDate(1, 0, -31), false, false, ""},
		{"29 days before the end: issued again", admin, alice, true, issued.AddDate(1, 0, -29), true, true, ""},
		{"expired: issued again", admin, alice, true, issued.AddDate(2, 0, 0), true, true, ""},
		{"no admin certificate yet", "", alice, true, issued, true, false, ""},
		{"a member joins", admin, append(alice, kubeapi.Member{Name: "bob", Role: kubeapi.RoleReadOnly}), true, issued, false, true, ""},
		{"a member is renamed", admin, []kubeapi.Member{{Name: "carol", Role: kubeapi.RoleOwner}}, true, issued, false, true, ""},
		{"members unknown at plan", admin, nil, false, issued, false, true, ""},
		{"no CA keys to check by", admin, alice, true, issued, false, false, "none"},
		{"the cluster is replaced", admin, alice, true, issued, true, true, "unknown"},
		{"the cluster was created again under the same name", admin, alice, true, issued, true, true, "recreated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := map[string]*bootstrap.PKI{"": p, "recreated": recreated}[tc.ca]
			a, m := certRenewals(tc.admin, current, tc.members, tc.known, tc.now, pki, tc.ca != "unknown")
			if a != tc.wantAdmin || m != tc.wantMemberCerts {
				t.Errorf("renew admin %v, members %v; want %v, %v", a, m, tc.wantAdmin, tc.wantMemberCerts)
			}
		})
	}
}

// syncPlanner is a sync in the state of a cluster with PKI p, and a way to plan edits of it.
type syncPlanner struct {
	t     *testing.T
	r     *clusterSyncResource
	state tfsdk.State
}

func newSyncPlanner(t *testing.T, p *bootstrap.PKI) syncPlanner {
	ctx := context.Background()
	r := &clusterSyncResource{}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	admin, err := p.IssueClientCert(rand.Reader, time.Now(), bootstrap.AdminUser, bootstrap.AdminGroup)
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	state := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
	for _, set := range []struct {
		at path.Path
		v  any
	}{
		{path.Root("id"), "demo"},
		{path.Root("cluster").AtName("name"), "demo"},
		{path.Root("cluster").AtName("kubernetes_version"), "v1.33.5+rke2r1"},
		{path.Root("cluster").AtName("api_server_url"), "https://127.0.0.1:6443"},
		{path.Root("cluster").AtName("secrets"), secrets},
		{path.Root("node_pools"), types.ListValueMust(sr.Schema.Attributes["node_pools"].GetType().(types.ListType).ElemType, nil)},
		{path.Root("api_server_url"), "https://127.0.0.1:6443"},
		{path.Root("state"), "active"},
		{path.Root("kubernetes_version"), "v1.33.5+rke2r1"},
		{path.Root("kubeconfig"), "a kubeconfig"},
		{path.Root("client_certificate"), admin.Cert},
		{path.Root("cluster_ca_certificate"), p.ServerCABundle()},
		{path.Root("member_certificates"), types.MapValueMust(types.StringType, nil)},
		{path.Root("nodes"), types.ListValueMust(types.ObjectType{AttrTypes: syncNodeAttrTypes}, nil)},
		{path.Root("projects"), types.ListValueMust(types.ObjectType{AttrTypes: projectAttrTypes}, nil)},
	} {
		if d := state.SetAttribute(ctx, set.at, set.v); d.HasError() {
			t.Fatal(set.at, d)
		}
	}
	return syncPlanner{t: t, r: r, state: state}
}

// plan runs ModifyPlan on the state with one attribute set to v (none when at is empty).
func (s syncPlanner) plan(at path.Path, v any) tfsdk.Plan {
	s.t.Helper()
	ctx := context.Background()
	p := tfsdk.Plan{Schema: s.state.Schema, Raw: s.state.Raw.Copy()}
	if v != nil {
		if d := p.SetAttribute(ctx, at, v); d.HasError() {
			s.t.Fatal(d)
		}
	}
	resp := resource.ModifyPlanResponse{Plan: p}
	s.r.ModifyPlan(ctx, resource.ModifyPlanRequest{Plan: p, State: s.state}, &resp)
	if resp.Diagnostics.HasError() {
		s.t.Fatal(resp.Diagnostics)
	}
	return resp.Plan
}

func (s syncPlanner) get(p tfsdk.Plan, name string) types.String {
	s.t.Helper()
	var v types.String
	if d := p.GetAttribute(context.Background(), path.Root(name), &v); d.HasError() {
		s.t.Fatal(d)
	}
	return v
}

// TestClusterSyncModifyPlan_kubernetesVersion: a plan with nothing to do keeps every computed
// value (no perpetual diff); a plan that updates the sync (here: the cluster's version changed)
// leaves kubernetes_version unknown, since the apply reads it from the API again and Terraform
// rejects an apply whose result contradicts a known planned value.
func TestClusterSyncModifyPlan_kubernetesVersion(t *testing.T) {
	p, err := bootstrap.NewPKI(rand.Reader, time.Now(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	s := newSyncPlanner(t, p)
	if got := s.plan(path.Empty(), nil); !got.Raw.Equal(s.state.Raw) {
		t.Errorf("a plan with nothing to do changed the sync: %s", got.Raw.String())
	}
	upgraded := s.plan(path.Root("cluster").AtName("kubernetes_version"), "v1.34.2+rke2r1")
	if v := s.get(upgraded, "kubernetes_version"); !v.IsUnknown() {
		t.Errorf("after a version change the plan promises kubernetes_version %s", v)
	}
}

// TestClusterSyncModifyPlan_clusterCreatedAgain: when the cluster is replaced (its CA set unknown
// at plan) or was created again under the same name (another CA set), the plan issues the access
// again: the old client certificates would be refused by the new API servers, and the server CA
// bundle changes.
func TestClusterSyncModifyPlan_clusterCreatedAgain(t *testing.T) {
	p, err := bootstrap.NewPKI(rand.Reader, time.Now(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	again, err := bootstrap.NewPKI(rand.Reader, time.Now(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := again.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := newSyncPlanner(t, p)
	replaced := s.plan(path.Root("cluster").AtName("secrets"), types.StringUnknown())
	for _, name := range []string{"client_certificate", "client_key", "kubeconfig", "cluster_ca_certificate"} {
		if v := s.get(replaced, name); !v.IsUnknown() {
			t.Errorf("cluster replaced: the plan keeps %s", name)
		}
	}
	recreated := s.plan(path.Root("cluster").AtName("secrets"), secrets)
	for _, name := range []string{"client_certificate", "client_key", "kubeconfig", "kubernetes_version"} {
		if v := s.get(recreated, name); !v.IsUnknown() {
			t.Errorf("cluster created again: the plan keeps %s", name)
		}
	}
	if v := s.get(recreated, "cluster_ca_certificate"); v.ValueString() != again.ServerCABundle() {
		t.Errorf("cluster created again: cluster_ca_certificate is not the new server CA bundle")
	}
}
