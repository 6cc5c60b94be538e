//go:build linux

package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/nodesandbox"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// TestAccClusterSync_realAPIServer: the seed topology (etcd ×3, control plane ×2, workers ×2)
// applied through the CLI against moto; the init node's user data booted by real cloud-init;
// a real kube-apiserver over etcd started from the CA files it left; kubelet stand-ins register
// the nodes through the API as kubelets do. The sync reaches active, its admin kubeconfig works
// with kubectl, a read-only member can list pods but not create a namespace (the real RBAC
// authorizer decides), removing the member takes that away, and a node that never registers
// fails the sync at its timeout, named.
func TestAccClusterSync_realAPIServer(t *testing.T) {
	moto, cli := cliOnMoto(t)
	baseFor := func(workers int) string {
		return acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}
` + poolHCL("etcd", 3, "etcd") + poolHCL("cp", 2, "control_plane") + poolHCL("workers", workers, "worker")
	}
	base := baseFor(2)
	cluster := func(attrs string) string {
		return `
resource "ec2k8s_cluster" "demo" {
  name               = "demo"
  cloud_credential   = ec2k8s_cloud_credential.aws
  install_script_url = "` + nodesandbox.InstallerURL + `"
  enable_network_policy = true
` + attrs + `
}
`
	}
	cli.Write(base + cluster(`  members = [{ name = "alice", role = "cluster-owner" }, { name = "bob", role = "read-only" }]`))
	t.Cleanup(func() { destroyAndCheck(t, cli, moto) })
	cli.Apply()

	kube := apiFromInitNode(t, moto, "demo-etcd-1", "demo-etcd-1", "demo-etcd-2", "demo-etcd-3", "demo-cp-1", "demo-cp-2",
		"demo-workers-1", "demo-workers-2")

	members := `  members = [{ name = "alice", role = "cluster-owner" }, { name = "bob", role = "read-only" }]
  api_server_url = "` + kube.URL + `"`
	sync := `
resource "ec2k8s_cluster_sync" "demo" {
  cluster    = ec2k8s_cluster.demo
  node_pools = [ec2k8s_node_pool.etcd, ec2k8s_node_pool.cp, ec2k8s_node_pool.workers]
  timeouts {
    create = "2m"
    update = "5s"
  }
}
`
	cli.Write(base + cluster(members) + sync)
	cli.Apply()
	s := cli.StateResource("ec2k8s_cluster_sync.demo").AttributeValues
	if s["state"] != "active" || s["api_server_url"] != kube.URL || !strings.HasPrefix(fmt.Sprint(s["kubernetes_version"]), "v1.34.") {
		t.Errorf("sync state %v, api_server_url %v, version %v", s["state"], s["api_server_url"], s["kubernetes_version"])
	}
	// Every node of every pool, Ready, with its pool, roles and the kubelet version it reports.
	wantNodes := map[string]string{"demo-etcd-1": "etcd [etcd]", "demo-etcd-2": "etcd [etcd]", "demo-etcd-3": "etcd [etcd]",
		"demo-cp-1": "cp [controlplane]", "demo-cp-2": "cp [controlplane]", "demo-workers-1": "workers [worker]", "demo-workers-2": "workers [worker]"}
	nodes, _ := s["nodes"].([]any)
	if len(nodes) != len(wantNodes) {
		t.Errorf("sync nodes: %d, want %d: %v", len(nodes), len(wantNodes), s["nodes"])
	}
	for _, n := range nodes {
		n, _ := n.(map[string]any)
		name := fmt.Sprint(n["name"])
		if got := fmt.Sprintf("%v %v", n["pool"], n["roles"]); got != wantNodes[name] || n["ready"] != true || !strings.HasPrefix(fmt.Sprint(n["kubelet_version"]), "v") {
			t.Errorf("sync node %s: pool and roles %q (want %q), ready %v, kubelet %v", name, got, wantNodes[name], n["ready"], n["kubelet_version"])
		}
	}
	// The projects, as exported, say where the namespaces are: Default holds default, System the
	// kube-* namespaces; the API's labels agree (below, for kube-system).
	projects := map[string][]string{}
	for _, p := range s["projects"].([]any) {
		p := p.(map[string]any)
		for _, n := range p["namespaces"].([]any) {
			projects[fmt.Sprint(p["name"])] = append(projects[fmt.Sprint(p["name"])], fmt.Sprint(n))
		}
	}
	if len(projects) != 2 || !slices.Contains(projects["default"], "default") || !slices.Contains(projects["system"], "kube-system") ||
		slices.Contains(projects["default"], "kube-system") || slices.Contains(projects["system"], "default") {
		t.Errorf("sync projects %v; want default (with default) and system (with kube-system)", projects)
	}
	// Nothing changed: the plan is empty (certificates are kept, not issued again).
	for _, rc := range cli.PlanJSON().ResourceChanges {
		if !rc.Change.Actions.NoOp() && !rc.Change.Actions.Read() {
			t.Errorf("the plan after the sync would %v %s: %s", rc.Change.Actions, rc.Address, describeChange(rc.Change))
		}
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin := write("admin", s["kubeconfig"].(string))
	if out, err := kube.Kubectl(t, admin, "get", "nodes", "-o", "name"); err != nil || !strings.Contains(out, "node/demo-cp-2") {
		t.Errorf("kubectl get nodes with the admin kubeconfig: %v\n%s", err, out)
	}
	bob := write("bob", s["member_kubeconfigs"].(map[string]any)["bob"].(string))
	if out, err := kube.Kubectl(t, bob, "get", "pods", "-A"); err != nil {
		t.Errorf("read-only bob cannot list pods: %v\n%s", err, out)
	}
	if out, err := kube.Kubectl(t, bob, "create", "namespace", "bobs"); err == nil || !strings.Contains(out, "forbidden") {
		t.Errorf("read-only bob created a namespace: %v\n%s", err, out)
	}
	if out, err := kube.Kubectl(t, admin, "get", "namespace", "kube-system", "-o", "jsonpath={.metadata.labels.ec2k8s\\.io/project}"); err != nil || out != "system" {
		t.Errorf("kube-system's project: %q (%v)", out, err)
	}
	if out, err := kube.Kubectl(t, admin, "get", "networkpolicy", "-n", "default", "ec2k8s-project-isolation", "-o", "name"); err != nil {
		t.Errorf("enable_network_policy: the Default project is not isolated: %v\n%s", err, out)
	}

	// bob leaves: his certificate still authenticates, but grants nothing.
	cli.Write(base + cluster(`  members = [{ name = "alice", role = "cluster-owner" }]
  api_server_url = "`+kube.URL+`"`) + sync)
	cli.Apply()
	if out, err := kube.Kubectl(t, bob, "get", "pods", "-A"); err == nil || !strings.Contains(out, "forbidden") {
		t.Errorf("bob still lists pods after leaving: %v\n%s", err, out)
	}

	// A third worker never registers: the sync fails at its timeout and names it.
	cli.Write(baseFor(3) + cluster(`  members = [{ name = "alice", role = "cluster-owner" }]
  api_server_url = "`+kube.URL+`"`) + sync)
	_, stderr, code := cli.Run("apply", "-auto-approve", "-input=false", "-no-color")
	if code == 0 || !acctest.ErrorRe("nodes not registered: demo-workers-3").MatchString(stderr) {
		t.Errorf("apply with an unregistered node exited %d; want the sync to name demo-workers-3\n%s", code, stderr)
	}
}

// registerNode does what a kubelet does to join: creates its Node, as system:node:<name>, and
// reports it Ready.
func registerNode(t *testing.T, k *acctest.Kube, name string) {
	t.Helper()
	cert, err := k.IssueClientCert("system:node:"+name, "system:nodes")
	if err != nil {
		t.Fatal(err)
	}
	cs := k.Clientset(t, cert)
	ctx := context.Background()
	node, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubelet stand-in %s: %v", name, err)
	}
	node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
	node.Status.NodeInfo.KubeletVersion = bootstrap.DefaultVersion("rke2")
	if _, err := cs.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("kubelet stand-in %s reporting Ready: %v", name, err)
	}
}

// apiFromInitNode boots the init node's user data (the instance EC2 names initNode) in the node
// sandbox, starts a real API server from the TLS files it left, and has kubelet stand-ins
// register nodes.
func apiFromInitNode(t *testing.T, moto *acctest.Moto, initNode string, nodes ...string) *acctest.Kube {
	t.Helper()
	var initID string
	for _, i := range clusterInstances(t, moto) {
		if acctest.TagValue(i.Tags, provisioning.TagName) == initNode {
			initID = *i.InstanceId
		}
	}
	if initID == "" {
		t.Fatalf("no instance is named %s", initNode)
	}
	r := nodesandbox.Boot(t, nodesandbox.Node{UserData: userData(t, moto, initID), Metadata: nodesandbox.Metadata{
		InstanceID: initID, LocalIPv4: "10.0.0.10", AvailabilityZone: "us-west-2a"}})
	r.RequireDone(t)
	files := map[string][]byte{}
	for _, f := range acctest.KubeTLSFiles {
		b, err := r.ReadFile("/var/lib/rancher/rke2/server/tls/" + f)
		if err != nil {
			t.Fatalf("the init node was left without %s: %v", f, err)
		}
		files[f] = b
	}
	kube := acctest.StartKubernetes(t, files)
	for _, name := range nodes {
		registerNode(t, kube, name)
	}
	return kube
}
