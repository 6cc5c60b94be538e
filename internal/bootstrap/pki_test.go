package bootstrap

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	mrand "math/rand"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"
)

var pkiNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// testPKI is a deterministic PKI: crypto's randomness pinned, the clock fixed.
func testPKI(t *testing.T) *PKI {
	t.Helper()
	cryptotest.SetGlobalRandom(t, 7)
	p, err := NewPKI(mrand.New(mrand.NewSource(7)), pkiNow, "demo")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func certs(t *testing.T, bundle string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	rest := []byte(bundle)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return out
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// k3sCAHash is what k3s computes from a /cacerts bundle (pkg/clientaccess/token.go): verify the
// first certificate against the others as roots (no AKI, or AKI equal to SKI) and
// intermediates, and hash the DER of the chain's last certificate.
func k3sCAHash(t *testing.T, bundle string) string {
	t.Helper()
	cs := certs(t, bundle)
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range cs[1:] {
		if len(c.AuthorityKeyId) == 0 || bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
			roots.AddCert(c)
		} else {
			inters.AddCert(c)
		}
	}
	chains, err := cs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: pkiNow.Add(time.Hour)})
	if err != nil {
		t.Fatalf("the bundle does not verify as k3s verifies it: %v", err)
	}
	chain := chains[0]
	sum := sha256.Sum256(chain[len(chain)-1].Raw)
	return hex.EncodeToString(sum[:])
}

func TestNewPKI(t *testing.T) {
	p := testPKI(t)
	root := certs(t, p.Root.Cert)[0]
	if !root.IsCA || root.CheckSignatureFrom(root) != nil {
		t.Fatal("the root is not a self-signed CA")
	}
	for name, ca := range map[string]CA{"server": p.ServerCA, "client": p.ClientCA, "request-header": p.RequestHeaderCA,
		"etcd-peer": p.EtcdPeerCA, "etcd-server": p.EtcdServerCA} {
		bundle := certs(t, p.Bundle(ca))
		if len(bundle) != 3 || !bytes.Equal(bundle[2].Raw, root.Raw) {
			t.Errorf("%s-ca.crt: %d certificates; want the CA, the intermediate and the root", name, len(bundle))
		}
		c := bundle[0]
		if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 || len(c.ExtKeyUsage) > 0 {
			t.Errorf("%s CA: IsCA %v, usage %v, EKU %v; want a CA that may sign, no EKU", name, c.IsCA, c.KeyUsage, c.ExtKeyUsage)
		}
		if !strings.HasPrefix(c.Subject.CommonName, "demo-"+name+"-ca@") {
			t.Errorf("%s CA subject %q", name, c.Subject.CommonName)
		}
		// The CA's key is the certificate's key, in SEC1 form as k3s's script writes it.
		block, _ := pem.Decode([]byte(ca.Key))
		key, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil || block.Type != "EC PRIVATE KEY" || key.Curve != elliptic.P256() || !key.PublicKey.Equal(c.PublicKey.(*ecdsa.PublicKey)) {
			t.Errorf("%s CA key: %v (type %s); want the certificate's P-256 key", name, err, block.Type)
		}
		if got := k3sCAHash(t, p.Bundle(ca)); !strings.HasPrefix(p.ServerToken, "K10"+got+"::server:") {
			t.Errorf("k3s hashes the %s bundle to %s; the server token is %s...", name, got, p.ServerToken[:20])
		}
	}
	block, _ := pem.Decode([]byte(p.ServiceKey))
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil || k.N.BitLen() != 2048 {
		t.Errorf("service.key: %v; want an RSA 2048 key, PKCS#1", err)
	}
	sum := sha256.Sum256(root.Raw)
	hash := hex.EncodeToString(sum[:])
	if !strings.HasPrefix(p.AgentToken, "K10"+hash+"::node:") || p.AgentToken[len("K10"+hash+"::node:"):] == p.ServerToken[len("K10"+hash+"::server:"):] {
		t.Errorf("agent token %q: want K10<root hash>::node:<a secret of its own>", p.AgentToken)
	}
	if got := certs(t, p.Intermediate.Cert)[0]; got.CheckSignatureFrom(root) != nil || got.NotAfter.After(root.NotAfter) {
		t.Error("the intermediate is not signed by the root, or outlives it")
	}
}

func TestPKI_deterministicAndEncoded(t *testing.T) {
	a := testPKI(t)
	b := testPKI(t)
	if a.ServerToken != b.ServerToken || a.ServerCA.Cert != b.ServerCA.Cert {
		t.Error("NewPKI is not deterministic with pinned randomness and clock")
	}
	s, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodePKI(s)
	if err != nil || *back != *a {
		t.Fatalf("DecodePKI(Encode()) = %v, %v", back, err)
	}
	if _, err := DecodePKI(`{"server_token":"x"}`); err == nil {
		t.Error("an incomplete PKI decodes")
	}
}
