package bootstrap

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// Validity of the cluster's CAs: the root outlives the intermediate, which outlives nothing it
// signs; RKE2 and k3s renew their leaf certificates themselves from the CAs.
const (
	rootValidity = 20 * 365 * 24 * time.Hour
	caValidity   = 10 * 365 * 24 * time.Hour
)

// CA is a certificate authority: its certificate alone (not a bundle) and its private key, PEM.
type CA struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// PKI is a cluster's custom CA set and join tokens, in the layout RKE2 and k3s accept for custom
// CA certificates (their "custom CA certificates" docs and k3s's generate-custom-ca-certs.sh): a
// root CA signs an intermediate CA, which signs the five CAs the cluster uses; service.key signs
// service account tokens. The root and intermediate keys never leave the provider: nodes get the
// five CAs (with their keys, the init node only) and bundles that end at the root.
type PKI struct {
	Root            CA     `json:"root"`
	Intermediate    CA     `json:"intermediate"`
	ServerCA        CA     `json:"server_ca"`
	ClientCA        CA     `json:"client_ca"`
	RequestHeaderCA CA     `json:"request_header_ca"`
	EtcdPeerCA      CA     `json:"etcd_peer_ca"`
	EtcdServerCA    CA     `json:"etcd_server_ca"`
	ServiceKey      string `json:"service_key"`
	// ServerToken joins servers (and is the key of the bootstrap data in the datastore);
	// AgentToken joins agents only. Both in the secure form K10<root CA hash>::<user>:<secret>.
	ServerToken string `json:"server_token"`
	AgentToken  string `json:"agent_token"`
}

// NewPKI makes a cluster's CA set and tokens. rand gives the tokens' secrets and the serial
// numbers (crypto/rand.Reader in production); key generation uses crypto's own randomness,
// which tests make deterministic with testing/cryptotest.SetGlobalRandom. now is the start of
// every certificate's validity.
func NewPKI(rand io.Reader, now time.Time, cluster string) (*PKI, error) {
	g := pkiGen{rand: rand, now: now.UTC().Truncate(time.Second), cluster: cluster}
	root, rootCert, rootKey := g.ca("root-ca", nil, nil, rootValidity, elliptic.P384())
	inter, interCert, interKey := g.ca("intermediate-ca", rootCert, rootKey, caValidity, elliptic.P384())
	p := &PKI{Root: root, Intermediate: inter}
	for _, c := range []struct {
		name string
		dst  *CA
	}{{"server-ca", &p.ServerCA}, {"client-ca", &p.ClientCA}, {"request-header-ca", &p.RequestHeaderCA},
		{"etcd-peer-ca", &p.EtcdPeerCA}, {"etcd-server-ca", &p.EtcdServerCA}} {
		*c.dst, _, _ = g.ca(c.name, interCert, interKey, caValidity, elliptic.P256())
	}
	p.ServiceKey = g.rsaKey(2048)
	server, agent := g.secret(), g.secret()
	if g.err != nil {
		return nil, fmt.Errorf("bootstrap: making the cluster PKI: %w", g.err)
	}
	hash, err := p.CAHash()
	if err != nil {
		return nil, err
	}
	p.ServerToken = "K10" + hash + "::server:" + server
	p.AgentToken = "K10" + hash + "::node:" + agent
	return p, nil
}

// pkiGen makes the PKI's pieces, keeping the first error.
type pkiGen struct {
	rand    io.Reader
	now     time.Time
	cluster string
	err     error
}

func (g *pkiGen) ca(name string, parent *x509.Certificate, parentKey crypto.Signer, validity time.Duration, curve elliptic.Curve) (CA, *x509.Certificate, crypto.Signer) {
	if g.err != nil {
		return CA{}, nil, nil
	}
	key, err := ecdsa.GenerateKey(curve, g.rand)
	if err != nil {
		g.err = err
		return CA{}, nil, nil
	}
	serial, err := randSerial(g.rand)
	if err != nil {
		g.err = err
		return CA{}, nil, nil
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// The names k3s's script gives them, with the cluster in place of its timestamp.
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s-%s@%s", g.cluster, name, g.now.Format("20060102"))},
		NotBefore:             g.now,
		NotAfter:              g.now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true, // no path length limit, as k3s's script makes them
	}
	if parent == nil {
		parent, parentKey = tmpl, key // self-signed: the root (no AKI other than its own SKI)
	}
	der, err := x509.CreateCertificate(g.rand, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		g.err = err
		return CA{}, nil, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		g.err = err
		return CA{}, nil, nil
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		g.err = err
		return CA{}, nil, nil
	}
	return CA{Cert: pemString("CERTIFICATE", der), Key: pemString("EC PRIVATE KEY", keyDER)}, cert, key
}

func (g *pkiGen) rsaKey(bits int) string {
	if g.err != nil {
		return ""
	}
	key, err := rsa.GenerateKey(g.rand, bits)
	if err != nil {
		g.err = err
		return ""
	}
	return pemString("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
}

// secret is 16 random bytes, hex: a token password.
func (g *pkiGen) secret() string {
	if g.err != nil {
		return ""
	}
	b := make([]byte, 16)
	if _, err := io.ReadFull(g.rand, b); err != nil {
		g.err = err
	}
	return hex.EncodeToString(b)
}

func randSerial(rand io.Reader) (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f // positive
	return new(big.Int).SetBytes(b), nil
}

func pemString(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// CAHash is the CA hash of the secure token form: the hex SHA-256 of the root CA certificate's
// DER. With a custom CA (a bundle that ends at a root) RKE2 and k3s hash the root, not the
// bundle (k3s pkg/clientaccess/token.go; the "token" docs of both).
func (p *PKI) CAHash() (string, error) {
	block, _ := pem.Decode([]byte(p.Root.Cert))
	if block == nil {
		return "", errors.New("bootstrap: the root CA certificate is not PEM")
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

// Bundle is a CA's certificate followed by the intermediate and the root: what each
// <name>-ca.crt of the cluster holds.
func (p *PKI) Bundle(c CA) string {
	return c.Cert + p.Intermediate.Cert + p.Root.Cert
}

// ServerCABundle is the cluster's server CA bundle, PEM: what clients trust the API server by.
func (p *PKI) ServerCABundle() string { return p.Bundle(p.ServerCA) }

// Encode returns the PKI as JSON, for the cluster's state.
func (p *PKI) Encode() (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("bootstrap: encoding the cluster PKI: %w", err)
	}
	return string(b), nil
}

// DecodePKI reads a PKI from the cluster's state.
func DecodePKI(s string) (*PKI, error) {
	var p PKI
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("bootstrap: the cluster's PKI in state is not readable: %w", err)
	}
	if !strings.HasPrefix(p.ServerToken, "K10") || p.ServerCA.Key == "" {
		return nil, errors.New("bootstrap: the cluster's PKI in state is incomplete")
	}
	return &p, nil
}
