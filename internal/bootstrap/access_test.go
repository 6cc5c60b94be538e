package bootstrap

import (
	"crypto/rand"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// TestIssueClientCert: a member's certificate chains to the cluster's client CA bundle (what the
// API server's --client-ca-file holds) for client authentication only, names the user and its
// groups, and is valid a year.
func TestIssueClientCert(t *testing.T) {
	p := testPKI(t)
	now := pkiNow.Add(48 * time.Hour)
	c, err := p.IssueClientCert(rand.Reader, now, "alice", "ec2k8s:cluster-member")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := parseCert(c.Cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	for _, ca := range certs(t, p.Bundle(p.ClientCA)) {
		roots.AddCert(ca)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("the certificate does not verify against the client CA bundle: %v", err)
	}
	serverRoots := x509.NewCertPool()
	serverRoots.AddCert(certs(t, p.ServerCA.Cert)[0])
	if _, err := cert.Verify(x509.VerifyOptions{Roots: serverRoots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
		t.Error("the certificate verifies against the server CA: it must come from the client CA only")
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("a client certificate is usable to serve")
	}
	user, groups, notAfter, err := ClientCertInfo(c.Cert)
	if err != nil || user != "alice" || !slices.Equal(groups, []string{"ec2k8s:cluster-member"}) {
		t.Errorf("user %q, groups %v (%v)", user, groups, err)
	}
	if want := now.UTC().Truncate(time.Second).Add(ClientCertValidity); !notAfter.Equal(want) || !c.NotAfter.Equal(want) {
		t.Errorf("expires %v; want %v", notAfter, want)
	}
	if _, err := p.IssueClientCert(rand.Reader, now, ""); err == nil {
		t.Error("a certificate without a user name was issued")
	}
}

func TestNeedsRenewal(t *testing.T) {
	p := testPKI(t)
	c, err := p.IssueClientCert(rand.Reader, pkiNow, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cert string
		at   time.Time
		want bool
	}{
		{"new", c.Cert, pkiNow, false},
		{"31 days left", c.Cert, c.NotAfter.Add(-31 * 24 * time.Hour), false},
		{"29 days left", c.Cert, c.NotAfter.Add(-29 * 24 * time.Hour), true},
		{"expired", c.Cert, c.NotAfter.Add(time.Hour), true},
		{"missing", "", pkiNow, true},
		{"garbage", "not a certificate", pkiNow, true},
	} {
		if got := NeedsRenewal(tc.cert, tc.at); got != tc.want {
			t.Errorf("%s: NeedsRenewal = %v; want %v", tc.name, got, tc.want)
		}
	}
}

// TestSignedClientCert: a certificate of this cluster's client CA is recognised; one of an
// earlier cluster under the same name (a new PKI), or of another CA of the set, is not.
func TestSignedClientCert(t *testing.T) {
	p := testPKI(t)
	c, err := p.IssueClientCert(rand.Reader, pkiNow, "admin")
	if err != nil {
		t.Fatal(err)
	}
	earlier, err := NewPKI(rand.Reader, pkiNow, "demo")
	if err != nil {
		t.Fatal(err)
	}
	old, err := earlier.IssueClientCert(rand.Reader, pkiNow, "admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cert string
		want bool
	}{
		{"this cluster's", c.Cert, true},
		{"an earlier cluster's", old.Cert, false},
		{"the server CA itself", p.ServerCA.Cert, false},
		{"missing", "", false},
		{"garbage", "not a certificate", false},
	} {
		if got := p.SignedClientCert(tc.cert); got != tc.want {
			t.Errorf("%s: SignedClientCert = %v; want %v", tc.name, got, tc.want)
		}
	}
}

// TestKubeconfig: what client-go reads back from the kubeconfig is the server, the CA bundle and
// the user's certificate.
func TestKubeconfig(t *testing.T) {
	p := testPKI(t)
	c, err := p.IssueClientCert(rand.Reader, pkiNow, AdminUser, AdminGroup)
	if err != nil {
		t.Fatal(err)
	}
	text, err := Kubeconfig("demo", "https://203.0.113.10:6443", p.ServerCABundle(), AdminUser, c)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://203.0.113.10:6443" || string(cfg.CAData) != p.ServerCABundle() ||
		string(cfg.CertData) != c.Cert || string(cfg.KeyData) != c.Key {
		t.Errorf("kubeconfig reads back as host %q, CA %d bytes, cert %d bytes", cfg.Host, len(cfg.CAData), len(cfg.CertData))
	}
	if key, err := KubeconfigClientKey(text); err != nil || key != c.Key {
		t.Errorf("KubeconfigClientKey: %v; the key does not read back", err)
	}
}
