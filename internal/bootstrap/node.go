package bootstrap

import (
	"slices"
)

// Node is what the nodes of a pool are booted with: the same for every node of the pool, and
// the pool's spec (see ForSpec). How a launch joins the cluster, and its secrets, are in Launch.
//
// GOTCHA: the JSON encoding of Node (without IndexBase) is part of a pool's spec hash, and a new
// hash replaces every node. The names in the json tags are therefore fixed; a new field must be
// omitempty, so that nodes made before it existed keep their hash while it is unset.
type Node struct {
	Cluster               string            `json:"cluster"`
	Distribution          string            `json:"distribution"`
	KubernetesVersion     string            `json:"kubernetes_version"`
	NetworkPlugin         string            `json:"network_plugin,omitempty"`
	CloudProvider         string            `json:"cloud_provider,omitempty"`
	ContainerRuntime      string            `json:"container_runtime,omitempty"`
	InstallScriptURL      string            `json:"install_script_url,omitempty"`
	InstallEnv            map[string]string `json:"install_env,omitempty"`
	ClusterCIDR           string            `json:"cluster_cidr,omitempty"`
	ServiceCIDR           string            `json:"service_cidr,omitempty"`
	ClusterDNS            string            `json:"cluster_dns,omitempty"`
	SystemDefaultRegistry string            `json:"system_default_registry,omitempty"`
	EtcdSnapshot          *EtcdSnapshot     `json:"etcd_snapshot,omitempty"`
	Pool                  string            `json:"pool"`
	HostnamePrefix        string            `json:"hostname_prefix"`
	IndexBase             int               `json:"-"`
	Roles                 []string          `json:"roles"`
	Labels                map[string]string `json:"labels,omitempty"`
	Taints                []string          `json:"taints,omitempty"`
	Engine                Engine            `json:"engine,omitzero"`
	ExtraUserData         string            `json:"extra_user_data,omitempty"`
}

// Engine is the container engine settings of a node template (Rancher's "engine options").
type Engine struct {
	InstallURL         string            `json:"install_url,omitempty"`
	RegistryMirrors    []string          `json:"registry_mirrors,omitempty"`
	InsecureRegistries []string          `json:"insecure_registries,omitempty"`
	Labels             map[string]string `json:"labels,omitempty"`
	Options            map[string]string `json:"options,omitempty"`
	Env                map[string]string `json:"env,omitempty"`
	StorageDriver      string            `json:"storage_driver,omitempty"`
}

// EtcdSnapshot is when etcd servers snapshot the datastore, how many they keep, and where they
// copy them in S3, if anywhere.
type EtcdSnapshot struct {
	ScheduleCron string `json:"schedule_cron"`
	Retention    int64  `json:"retention"`
	S3Bucket     string `json:"s3_bucket,omitempty"`
	S3Folder     string `json:"s3_folder,omitempty"`
	S3Region     string `json:"s3_region,omitempty"`
	S3Endpoint   string `json:"s3_endpoint,omitempty"`
}

// The roles of a node.
const (
	RoleEtcd         = "etcd"
	RoleControlPlane = "controlplane"
	RoleWorker       = "worker"
)

// Etcd, ControlPlane and Server say what a node runs: servers run etcd, the control plane or
// both; every other node is an agent.
func (n Node) Etcd() bool         { return slices.Contains(n.Roles, RoleEtcd) }
func (n Node) ControlPlane() bool { return slices.Contains(n.Roles, RoleControlPlane) }
func (n Node) Server() bool       { return n.Etcd() || n.ControlPlane() }

// ForSpec is n without what its roles never use, so that a change of it replaces no node that
// does not use it: agents take the network, CNI and snapshot settings from the servers, and only
// etcd servers take snapshots.
func (n Node) ForSpec() Node {
	n.IndexBase = 0
	if !n.Server() {
		n.NetworkPlugin, n.ClusterCIDR, n.ServiceCIDR, n.ClusterDNS = "", "", "", ""
	}
	if !n.Etcd() {
		n.EtcdSnapshot = nil
	}
	return n
}

// Launch is what the nodes of one RunInstances are told beyond their spec. It is never part of
// the spec: which node starts the cluster, the node others join through and the PKI may change
// without replacing a node.
type Launch struct {
	// IndexBase is the index of the launch's first node; each node adds its launch index.
	IndexBase int
	// Init starts a new cluster: no server to join, and the CA keys on the node.
	Init bool
	// Server is the address (IP or DNS name) to join through; empty with Init.
	Server string
	// RegistrationAddress is the fixed address users and nodes reach the cluster by, if any: it
	// goes into the servers' certificates.
	RegistrationAddress string
	// Secrets are what the node's roles need, from PKI.SecretsFor.
	Secrets Secrets
}

// Secrets are the parts of the cluster PKI one node gets.
type Secrets struct {
	// ServerToken joins servers; empty for agents.
	ServerToken string
	// AgentToken joins agents; servers hold it too, to accept agents.
	AgentToken string
	// CA is the CA set with its keys: the init node only.
	CA *CAFiles
}

// CAFiles are the CA certificates and keys the init node writes before its first start: each
// certificate once (the bundles are assembled on the node, to keep the user data small).
type CAFiles struct {
	Root, Intermediate string
	// CAs maps each CA's file name (server-ca, etcd/peer-ca...) to the CA.
	CAs        map[string]CA
	ServiceKey string
}

// CAFileNames are the CAs RKE2 and k3s read from server/tls, in the order they are written.
var CAFileNames = []string{"server-ca", "client-ca", "request-header-ca", "etcd/peer-ca", "etcd/server-ca"}

// SecretsFor picks what a node with roles gets: the init node the CA keys and both tokens;
// other servers both tokens and no CA key; agents the agent token only.
func (p *PKI) SecretsFor(n Node, init bool) Secrets {
	if !n.Server() {
		return Secrets{AgentToken: p.AgentToken}
	}
	s := Secrets{ServerToken: p.ServerToken, AgentToken: p.AgentToken}
	if init {
		s.CA = &CAFiles{Root: p.Root.Cert, Intermediate: p.Intermediate.Cert, ServiceKey: p.ServiceKey, CAs: map[string]CA{
			"server-ca": p.ServerCA, "client-ca": p.ClientCA, "request-header-ca": p.RequestHeaderCA,
			"etcd/peer-ca": p.EtcdPeerCA, "etcd/server-ca": p.EtcdServerCA,
		}}
	}
	return s
}

// DefaultTaints are Rancher's taints for dedicated servers, written as Rancher's node-role docs
// give them (key=true:Effect; rancher/rancher pkg/capr/taints.go sets the same keys and effects):
// etcd nodes without the worker role repel running pods, control-plane nodes without it repel new
// ones; a node with the worker role gets none. k3s nodes that run etcd and the control plane get
// only the control-plane taint, as in Rancher (k3s's charts do not tolerate both).
func (n Node) DefaultTaints() []string {
	if slices.Contains(n.Roles, RoleWorker) {
		return nil
	}
	var out []string
	if n.Etcd() && (n.Distribution != "k3s" || !n.ControlPlane()) {
		out = append(out, "node-role.kubernetes.io/etcd=true:NoExecute")
	}
	if n.ControlPlane() {
		out = append(out, "node-role.kubernetes.io/control-plane=true:NoSchedule")
	}
	return out
}
