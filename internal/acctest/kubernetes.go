package acctest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// KubeTLSFiles are the files of a server's TLS directory that the API server and etcd are
// started from (/var/lib/rancher/<dist>/server/tls on the init node), by their path in it:
// server-ca.crt/.key, client-ca.crt/.key, request-header-ca.crt/.key, etcd/server-ca.crt/.key
// and service.key. Each .crt is a bundle that ends at the cluster's root.
var KubeTLSFiles = []string{
	"server-ca.crt", "server-ca.key", "client-ca.crt", "client-ca.key", "request-header-ca.crt",
	"request-header-ca.key", "etcd/server-ca.crt", "etcd/server-ca.key", "service.key",
}

// NewKubeTLSFiles are the KubeTLSFiles of a new cluster PKI, for tests that need an API server
// but no init node.
func NewKubeTLSFiles(t *testing.T) map[string][]byte {
	t.Helper()
	p, err := bootstrap.NewPKI(rand.Reader, time.Now(), "test")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"service.key": []byte(p.ServiceKey)}
	for name, ca := range map[string]bootstrap.CA{"server-ca": p.ServerCA, "client-ca": p.ClientCA,
		"request-header-ca": p.RequestHeaderCA, "etcd/server-ca": p.EtcdServerCA} {
		files[name+".crt"], files[name+".key"] = []byte(p.Bundle(ca)), []byte(ca.Key)
	}
	return files
}

// Kube is a real kube-apiserver over a real etcd, on loopback ports, with the
// clusterrole-aggregation controller of kube-controller-manager (the built-in view, edit and
// admin roles are aggregated: without it they grant nothing).
type Kube struct {
	// URL is the API server's, https://127.0.0.1:<port>.
	URL string
	// CA is the server CA bundle the API server's certificate chains to.
	CA string
	// Admin is a client certificate in system:masters.
	Admin   bootstrap.ClientCert
	dir     string
	tls     map[string][]byte
	kubectl string
}

// StartKubernetes starts etcd, kube-apiserver and the clusterrole-aggregation controller from a
// cluster's TLS files (KubeTLSFiles), each on free 127.0.0.1 ports, and waits until the API
// answers /readyz and the view role is aggregated. They stop when the test ends. It skips when
// `make tools` has not built them, unless EC2K8S_REQUIRE_KUBERNETES=1.
func StartKubernetes(t *testing.T, files map[string][]byte) *Kube {
	t.Helper()
	bins := map[string]string{}
	for _, env := range []string{"EC2K8S_KUBE_APISERVER", "EC2K8S_KUBE_CONTROLLER_MANAGER", "EC2K8S_KUBECTL", "EC2K8S_ETCD"} {
		path := os.Getenv(env)
		if _, err := os.Stat(path); path == "" || err != nil {
			msg := fmt.Sprintf("%s is not set or missing (%q): `make tools` builds kube-apiserver, kube-controller-manager and kubectl and installs etcd", env, path)
			if os.Getenv("EC2K8S_REQUIRE_KUBERNETES") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		bins[env] = path
	}
	for _, f := range KubeTLSFiles {
		if len(files[f]) == 0 {
			t.Fatalf("StartKubernetes: %s is missing from the TLS files", f)
		}
	}
	k := &Kube{dir: t.TempDir(), tls: files, CA: string(files["server-ca.crt"])}
	for name, content := range files {
		k.write(t, "tls/"+name, content)
	}
	var err error
	if k.Admin, err = k.IssueClientCert("ec2k8s-test-admin", "system:masters"); err != nil {
		t.Fatal(err)
	}

	etcdURL := k.startEtcd(t, bins["EC2K8S_ETCD"])
	k.startAPIServer(t, bins["EC2K8S_KUBE_APISERVER"], etcdURL)
	k.startAggregation(t, bins["EC2K8S_KUBE_CONTROLLER_MANAGER"])
	k.kubectl = bins["EC2K8S_KUBECTL"]
	return k
}

func (k *Kube) write(t *testing.T, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(k.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serve starts a server process with its log in the test's directory, stopped at cleanup; its
// log is shown when the test fails.
func (k *Kube) serve(t *testing.T, name, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(k.dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("%s log (last 4 KiB):\n%s", name, tail(b, 4096))
			}
		}
	})
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func loopbackPort(t *testing.T) string {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(p)
}

func (k *Kube) startEtcd(t *testing.T, bin string) string {
	t.Helper()
	start := time.Now()
	client, peer := "https://127.0.0.1:"+loopbackPort(t), "http://127.0.0.1:"+loopbackPort(t)
	cert, err := k.issue("etcd/server-ca", pkix.Name{CommonName: "etcd"}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, "127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	k.serve(t, "etcd", bin, "--name=test", "--data-dir="+filepath.Join(k.dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer, "--initial-cluster=test="+peer,
		"--cert-file="+k.write(t, "etcd-server.crt", []byte(cert.Cert)), "--key-file="+k.write(t, "etcd-server.key", []byte(cert.Key)),
		"--client-cert-auth", "--trusted-ca-file="+filepath.Join(k.dir, "tls/etcd/server-ca.crt"))
	// etcd answers /health to a client with a certificate once it serves.
	k.waitHTTP(t, "etcd", client+"/health", cert, 60*time.Second)
	t.Logf("etcd ready on %s in %s", client, time.Since(start).Round(time.Millisecond))
	return client
}

func (k *Kube) startAPIServer(t *testing.T, bin, etcdURL string) {
	t.Helper()
	start := time.Now()
	port := loopbackPort(t)
	serving, err := k.issue("server-ca", pkix.Name{CommonName: "kube-apiserver"}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		"127.0.0.1", "10.43.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local")
	if err != nil {
		t.Fatal(err)
	}
	etcdClient, err := k.issue("etcd/server-ca", pkix.Name{CommonName: "kube-apiserver-etcd-client"}, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
	if err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(k.dir, "tls")
	k.serve(t, "kube-apiserver", bin,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
		"--cert-dir="+filepath.Join(k.dir, "apiserver-certs"),
		"--tls-cert-file="+k.write(t, "apiserver.crt", []byte(serving.Cert)), "--tls-private-key-file="+k.write(t, "apiserver.key", []byte(serving.Key)),
		"--client-ca-file="+filepath.Join(tlsDir, "client-ca.crt"),
		"--requestheader-client-ca-file="+filepath.Join(tlsDir, "request-header-ca.crt"),
		"--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--service-account-key-file="+filepath.Join(tlsDir, "service.key"),
		"--service-account-signing-key-file="+filepath.Join(tlsDir, "service.key"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
		"--service-cluster-ip-range=10.43.0.0/16", "--endpoint-reconciler-type=none",
		"--etcd-servers="+etcdURL, "--etcd-cafile="+filepath.Join(tlsDir, "etcd/server-ca.crt"),
		"--etcd-certfile="+k.write(t, "etcd-client.crt", []byte(etcdClient.Cert)), "--etcd-keyfile="+k.write(t, "etcd-client.key", []byte(etcdClient.Key)),
		"--profiling=false", "--enable-priority-and-fairness=false")
	k.URL = "https://127.0.0.1:" + port
	k.waitHTTP(t, "kube-apiserver", k.URL+"/readyz", k.Admin, 120*time.Second)
	t.Logf("kube-apiserver ready on %s in %s", k.URL, time.Since(start).Round(time.Millisecond))
}

// startAggregation runs kube-controller-manager with the clusterrole-aggregation controller
// only, as system:kube-controller-manager, and waits until the view role has rules.
func (k *Kube) startAggregation(t *testing.T, bin string) {
	t.Helper()
	start := time.Now()
	// Without service account credentials the controller acts as the manager itself, whose
	// built-in role cannot patch cluster roles: the test bed's manager is in system:masters.
	cert, err := k.IssueClientCert("system:kube-controller-manager", "system:masters")
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := k.Kubeconfig(t, "kube-controller-manager", cert)
	k.serve(t, "kube-controller-manager", bin, "--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig,
		"--controllers=clusterrole-aggregation-controller", "--leader-elect=false",
		"--use-service-account-credentials=false", "--bind-address=127.0.0.1", "--secure-port="+loopbackPort(t))
	cs := k.Clientset(t, k.Admin)
	deadline := time.Now().Add(90 * time.Second)
	for {
		view, err := cs.RbacV1().ClusterRoles().Get(context.Background(), "view", metav1.GetOptions{})
		if err == nil && hasRules(view) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view role is still not aggregated after 90s (%v)", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("clusterrole aggregation done in %s", time.Since(start).Round(time.Millisecond))
}

func hasRules(r *rbacv1.ClusterRole) bool { return len(r.Rules) > 0 }

// waitHTTP polls url with a client certificate until it answers 200.
func (k *Kube) waitHTTP(t *testing.T, what, url string, cert bootstrap.ClientCert, timeout time.Duration) {
	t.Helper()
	pair, err := tls.X509KeyPair([]byte(cert.Cert), []byte(cert.Key))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(k.CA))
	roots.AppendCertsFromPEM(k.tls["etcd/server-ca.crt"])
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: %s did not answer 200 within %s: %s", what, url, timeout, last)
}

// IssueClientCert issues a client certificate for user in groups from the cluster's client CA.
func (k *Kube) IssueClientCert(user string, groups ...string) (bootstrap.ClientCert, error) {
	return k.issue("client-ca", pkix.Name{CommonName: user, Organization: groups}, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
}

// issue signs a leaf certificate with one of the cluster's CAs (by its TLS file name, without
// extension); names are IP or DNS subject alternative names.
func (k *Kube) issue(ca string, subject pkix.Name, usage []x509.ExtKeyUsage, names ...string) (bootstrap.ClientCert, error) {
	caCert, caKey, err := parseCA(k.tls[ca+".crt"], k.tls[ca+".key"])
	if err != nil {
		return bootstrap.ClientCert{}, fmt.Errorf("%s: %w", ca, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return bootstrap.ClientCert{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return bootstrap.ClientCert{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: subject, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return bootstrap.ClientCert{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return bootstrap.ClientCert{}, err
	}
	return bootstrap.ClientCert{
		Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})),
	}, nil
}

// parseCA reads the first certificate of a bundle and its key (EC, PKCS#1 RSA or PKCS#8).
func parseCA(bundle, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	block, _ := pem.Decode(bundle)
	if block == nil {
		return nil, nil, errors.New("no certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, err
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("no key")
	}
	if k, err := x509.ParseECPrivateKey(kb.Bytes); err == nil {
		return cert, k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(kb.Bytes); err == nil {
		return cert, k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, errors.New("the key cannot sign")
	}
	return cert, signer, nil
}

// Kubeconfig writes a kubeconfig for cert into the test's directory and returns its path.
func (k *Kube) Kubeconfig(t *testing.T, name string, cert bootstrap.ClientCert) string {
	t.Helper()
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: test
  context: {cluster: test, user: %s}
current-context: test
`, k.URL, filepath.Join(k.dir, "tls/server-ca.crt"), name,
		k.write(t, name+".crt", []byte(cert.Cert)), k.write(t, name+".key", []byte(cert.Key)), name)
	return k.write(t, name+".kubeconfig", []byte(content))
}

// Clientset is a client-go clientset of the API server as cert.
func (k *Kube) Clientset(t *testing.T, cert bootstrap.ClientCert) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: k.URL, TLSClientConfig: rest.TLSClientConfig{
		CAData: []byte(k.CA), CertData: []byte(cert.Cert), KeyData: []byte(cert.Key)}})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Kubectl runs the built kubectl with kubeconfig and returns its combined output.
func (k *Kube) Kubectl(t *testing.T, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(k.kubectl, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
	cmd.Env = []string{"HOME=" + k.dir, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
