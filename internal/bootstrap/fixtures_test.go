package bootstrap

import (
	"fmt"
	"maps"
	"strings"
)

// fixturePKI has readable stand-ins for certificates and keys, so golden files show where each
// one goes; tests of the PKI itself use a real one (testPKI).
func fixturePKI() *PKI {
	pemOf := func(typ, name string) string {
		return fmt.Sprintf("-----BEGIN %s-----\n%s\n-----END %s-----\n", typ, strings.ToUpper(name), typ)
	}
	ca := func(name string) CA {
		return CA{Cert: pemOf("CERTIFICATE", name), Key: pemOf("EC PRIVATE KEY", name+" key")}
	}
	hash := strings.Repeat("ab", 32)
	return &PKI{Root: ca("root"), Intermediate: ca("intermediate"), ServerCA: ca("server-ca"), ClientCA: ca("client-ca"),
		RequestHeaderCA: ca("request-header-ca"), EtcdPeerCA: ca("etcd-peer-ca"), EtcdServerCA: ca("etcd-server-ca"),
		ServiceKey:  pemOf("RSA PRIVATE KEY", "service key"),
		ServerToken: "K10" + hash + "::server:serversecret", AgentToken: "K10" + hash + "::node:agentsecret"}
}

// fixture is one rendered launch of a golden test: a distribution, a pool's roles, how it
// joins, and a set of options.
type fixture struct {
	name string
	node Node
	init bool
}

// roleSets are the pools of the seed topology, the all-in-one pool, and servers that run etcd
// and the control plane but no workloads (named etcd-cp, as a pool name must be a hostname
// prefix: Rancher's taints differ there between RKE2 and k3s).
var roleSets = map[string][]string{
	"etcd": {RoleEtcd}, "cp": {RoleControlPlane}, "worker": {RoleWorker}, "all": {RoleEtcd, RoleControlPlane, RoleWorker},
	"etcd-cp": {RoleEtcd, RoleControlPlane},
}

// baseNode is a pool of dist with roles and the defaults a cluster gets.
func baseNode(dist, pool string, roles []string) Node {
	return Node{
		Cluster: "demo", Distribution: dist, KubernetesVersion: DefaultVersion(dist), NetworkPlugin: DefaultNetworkPlugin(dist),
		CloudProvider: "none", ContainerRuntime: "containerd", InstallScriptURL: DefaultInstallScriptURL(dist),
		ClusterCIDR: DefaultClusterCIDR, ServiceCIDR: DefaultServiceCIDR, ClusterDNS: DefaultClusterDNS,
		EtcdSnapshot: &EtcdSnapshot{ScheduleCron: "0 */12 * * *", Retention: 5},
		Pool:         pool, HostnamePrefix: "demo-" + pool + "-", Roles: roles,
	}
}

// options are the option sets of the golden files.
var options = map[string]func(n *Node){
	"default": func(*Node) {},
	// Everything a cluster and template can set.
	"full": func(n *Node) {
		n.CloudProvider = "aws"
		n.InstallScriptURL = "https://mirror.example.com/install.sh"
		n.InstallEnv = map[string]string{strings.ToUpper("INSTALL_" + n.Distribution + "_ARTIFACT_PATH"): "/opt/artifacts"}
		n.SystemDefaultRegistry = "registry.example.com:5000"
		n.EtcdSnapshot = &EtcdSnapshot{ScheduleCron: "0 */6 * * *", Retention: 10, S3Bucket: "demo-snapshots", S3Folder: "etcd/demo", S3Region: "us-west-2"}
		n.Labels = map[string]string{"example.com/tier": "core"}
		n.Taints = []string{"dedicated=core:NoSchedule"}
		n.Engine = Engine{RegistryMirrors: []string{"https://mirror.example.com"}, InsecureRegistries: []string{"registry.internal:5000"},
			Env: map[string]string{"HTTPS_PROXY": "http://proxy.internal:3128", "NO_PROXY": "169.254.169.254,10.0.0.0/8"}}
		n.ExtraUserData = "#cloud-config\nruncmd:\n  - [touch, /var/lib/user-data-ran]\n"
	},
}

// k3sOptions are option sets only k3s has.
var k3sOptions = map[string]func(n *Node){
	"docker": func(n *Node) {
		n.ContainerRuntime = "docker"
		n.Engine = Engine{InstallURL: "https://releases.example.com/install-docker.sh", Labels: map[string]string{"team": "platform"},
			StorageDriver: "overlay2", Options: map[string]string{"max-concurrent-downloads": "10", "log-driver": "json-file"},
			InsecureRegistries: []string{"10.0.0.0/8"}}
	},
	"no-cni": func(n *Node) {
		n.NetworkPlugin = "none"
		n.ExtraUserData = "#!/bin/sh\necho user data ran > /var/lib/user-data-ran\n"
	},
}

// fixtures are every golden case: distribution × roles (the first etcd node starting the
// cluster, every other node joining) × option set.
func fixtures() []fixture {
	var out []fixture
	for _, dist := range Distributions {
		opts := maps.Clone(options)
		if dist == "k3s" {
			maps.Copy(opts, k3sOptions)
		}
		for opt, apply := range opts {
			for pool, roles := range roleSets {
				n := baseNode(dist, pool, roles)
				apply(&n)
				n = n.ForSpec()
				if n.Etcd() {
					out = append(out, fixture{name: fmt.Sprintf("%s-%s-%s-init", dist, opt, pool), node: n, init: true})
				}
				out = append(out, fixture{name: fmt.Sprintf("%s-%s-%s", dist, opt, pool), node: n})
			}
		}
	}
	return out
}

// launch is the fixture's Launch with secrets from p.
func (f fixture) launch(p *PKI) Launch {
	l := Launch{IndexBase: 4, Init: f.init, Secrets: p.SecretsFor(f.node, f.init)}
	if !f.init {
		l.Server = "10.0.1.10"
	}
	if strings.Contains(f.name, "-full-") {
		l.RegistrationAddress = "k8s.example.com"
		if !f.init {
			l.Server = "k8s.example.com"
		}
	}
	return l
}
