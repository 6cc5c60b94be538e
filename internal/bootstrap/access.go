package bootstrap

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Client certificates the provider issues for the cluster's API: valid a year, renewed by an
// apply when less than a month remains. A certificate cannot be revoked; access is taken away by
// removing the user's bindings.
const (
	ClientCertValidity = 365 * 24 * time.Hour
	ClientCertRenewal  = 30 * 24 * time.Hour
	// AdminUser is the admin's user name; AdminGroup makes it a cluster admin without a binding
	// (the group the API server's built-in cluster-admin binding names).
	AdminUser  = "ec2k8s-admin"
	AdminGroup = "system:masters"
)

// ClientCert is a client certificate and its key, PEM, and when it expires.
type ClientCert struct {
	Cert, Key string
	NotAfter  time.Time
}

// IssueClientCert issues a client certificate for user (its CommonName) in groups (its
// Organization), signed by the cluster's client CA, valid from now for ClientCertValidity.
// rand gives the serial number; the key comes from crypto's own randomness.
func (p *PKI) IssueClientCert(rand io.Reader, now time.Time, user string, groups ...string) (ClientCert, error) {
	return p.IssueClientCertValid(rand, now, ClientCertValidity, user, groups...)
}

// IssueClientCertValid is IssueClientCert with a validity of its own: the provider's own
// certificates, never stored, live only as long as the operation that uses them.
func (p *PKI) IssueClientCertValid(rand io.Reader, now time.Time, validity time.Duration, user string, groups ...string) (ClientCert, error) {
	if user == "" {
		return ClientCert{}, errors.New("bootstrap: a client certificate needs a user name")
	}
	caCert, caKey, err := parseCA(p.ClientCA)
	if err != nil {
		return ClientCert{}, fmt.Errorf("bootstrap: the client CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return ClientCert{}, err
	}
	serial, err := randSerial(rand)
	if err != nil {
		return ClientCert{}, err
	}
	now = now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: user, Organization: groups},
		NotBefore:    now.Add(-5 * time.Minute), // clocks of the runner and the servers differ a little
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return ClientCert{}, fmt.Errorf("bootstrap: issuing a client certificate for %s: %w", user, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return ClientCert{}, err
	}
	return ClientCert{Cert: pemString("CERTIFICATE", der), Key: pemString("EC PRIVATE KEY", keyDER), NotAfter: tmpl.NotAfter}, nil
}

// ClientCertInfo reads a client certificate's user, groups and expiry.
func ClientCertInfo(certPEM string) (user string, groups []string, notAfter time.Time, err error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return "", nil, time.Time{}, err
	}
	return cert.Subject.CommonName, cert.Subject.Organization, cert.NotAfter, nil
}

// NeedsRenewal says whether a client certificate must be issued again at now: it is missing,
// unreadable, or expires within ClientCertRenewal.
func NeedsRenewal(certPEM string, now time.Time) bool {
	if certPEM == "" {
		return true
	}
	_, _, notAfter, err := ClientCertInfo(certPEM)
	return err != nil || notAfter.Sub(now) < ClientCertRenewal
}

// SignedClientCert says whether certPEM was issued by this cluster's client CA: a certificate of
// an earlier cluster under the same name is not, and its API server would refuse it.
func (p *PKI) SignedClientCert(certPEM string) bool {
	cert, err := parseCert(certPEM)
	if err != nil {
		return false
	}
	ca, err := parseCert(p.ClientCA.Cert)
	return err == nil && cert.CheckSignatureFrom(ca) == nil
}

// Kubeconfig is a kubeconfig for one user of the cluster: the API server at server, trusted by
// the cluster's server CA bundle, with the user's client certificate.
func Kubeconfig(cluster, server, caBundle, user string, cert ClientCert) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: []byte(caBundle)}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte(cert.Cert), ClientKeyData: []byte(cert.Key)}
	context := user + "@" + cluster
	cfg.Contexts[context] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: user}
	cfg.CurrentContext = context
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return "", fmt.Errorf("bootstrap: writing a kubeconfig: %w", err)
	}
	return string(b), nil
}

func parseCert(certPEM string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseCA(ca CA) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, err := parseCert(ca.Cert)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode([]byte(ca.Key))
	if block == nil {
		return nil, nil, errors.New("the key is not PEM")
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// KubeconfigClientKey reads back the client key of a kubeconfig's current user.
func KubeconfigClientKey(kubeconfig string) (string, error) {
	cfg, err := clientcmd.Load([]byte(kubeconfig))
	if err != nil {
		return "", fmt.Errorf("bootstrap: reading a kubeconfig: %w", err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || cfg.AuthInfos[ctx.AuthInfo] == nil || len(cfg.AuthInfos[ctx.AuthInfo].ClientKeyData) == 0 {
		return "", errors.New("bootstrap: the kubeconfig has no client key")
	}
	return string(cfg.AuthInfos[ctx.AuthInfo].ClientKeyData), nil
}
