package provider

import (
	"crypto/rand"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

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
