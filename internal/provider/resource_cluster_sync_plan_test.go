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
// first apply), and members' when the member list changes; otherwise the plan keeps them.
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
	alice := []kubeapi.Member{{Name: "alice", Role: kubeapi.RoleOwner}}
	for _, tc := range []struct {
		name                       string
		admin                      string
		members                    []kubeapi.Member
		known                      bool
		now                        time.Time
		wantAdmin, wantMemberCerts bool
	}{
		{"a day later: kept", admin, alice, true, issued.AddDate(0, 0, 1), false, false},
		{"31 days before the end: kept", admin, alice, true, issued.AddDate(1, 0, -31), false, false},
		{"29 days before the end: issued again", admin, alice, true, issued.AddDate(1, 0, -29), true, true},
		{"expired: issued again", admin, alice, true, issued.AddDate(2, 0, 0), true, true},
		{"no admin certificate yet", "", alice, true, issued, true, false},
		{"a member joins", admin, append(alice, kubeapi.Member{Name: "bob", Role: kubeapi.RoleReadOnly}), true, issued, false, true},
		{"a member is renamed", admin, []kubeapi.Member{{Name: "carol", Role: kubeapi.RoleOwner}}, true, issued, false, true},
		{"members unknown at plan", admin, nil, false, issued, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, m := certRenewals(tc.admin, current, tc.members, tc.known, tc.now)
			if a != tc.wantAdmin || m != tc.wantMemberCerts {
				t.Errorf("renew admin %v, members %v; want %v, %v", a, m, tc.wantAdmin, tc.wantMemberCerts)
			}
		})
	}
}

// TestClusterSyncModifyPlan_kubernetesVersion: a plan with nothing to do keeps every computed
// value (no perpetual diff); a plan that updates the sync (here: the cluster's version changed)
// leaves kubernetes_version unknown, since the apply reads it from the API again and Terraform
// rejects an apply whose result contradicts a known planned value.
func TestClusterSyncModifyPlan_kubernetesVersion(t *testing.T) {
	ctx := context.Background()
	r := &clusterSyncResource{}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	p, err := bootstrap.NewPKI(rand.Reader, time.Now(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := p.IssueClientCert(rand.Reader, time.Now(), bootstrap.AdminUser, bootstrap.AdminGroup)
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
		{path.Root("node_pools"), types.ListValueMust(sr.Schema.Attributes["node_pools"].GetType().(types.ListType).ElemType, nil)},
		{path.Root("api_server_url"), "https://127.0.0.1:6443"},
		{path.Root("state"), "active"},
		{path.Root("kubernetes_version"), "v1.33.5+rke2r1"},
		{path.Root("client_certificate"), admin.Cert},
		{path.Root("member_certificates"), types.MapValueMust(types.StringType, nil)},
		{path.Root("nodes"), types.ListValueMust(types.ObjectType{AttrTypes: syncNodeAttrTypes}, nil)},
		{path.Root("projects"), types.ListValueMust(types.ObjectType{AttrTypes: projectAttrTypes}, nil)},
	} {
		if d := state.SetAttribute(ctx, set.at, set.v); d.HasError() {
			t.Fatal(set.at, d)
		}
	}
	plan := func(edit func(*tfsdk.Plan)) tfsdk.Plan {
		p := tfsdk.Plan{Schema: sr.Schema, Raw: state.Raw.Copy()}
		if edit != nil {
			edit(&p)
		}
		var resp resource.ModifyPlanResponse
		resp.Plan = p
		r.ModifyPlan(ctx, resource.ModifyPlanRequest{Plan: p, State: state}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		return resp.Plan
	}
	version := func(p tfsdk.Plan) types.String {
		var v types.String
		if d := p.GetAttribute(ctx, path.Root("kubernetes_version"), &v); d.HasError() {
			t.Fatal(d)
		}
		return v
	}
	if got := plan(nil); !got.Raw.Equal(state.Raw) {
		t.Errorf("a plan with nothing to do changed the sync: %s", got.Raw.String())
	}
	upgraded := plan(func(p *tfsdk.Plan) {
		if d := p.SetAttribute(ctx, path.Root("cluster").AtName("kubernetes_version"), "v1.34.2+rke2r1"); d.HasError() {
			t.Fatal(d)
		}
	})
	if v := version(upgraded); !v.IsUnknown() {
		t.Errorf("after a version change the plan promises kubernetes_version %s", v)
	}
}
