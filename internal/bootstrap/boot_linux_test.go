//go:build linux

package bootstrap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/nodesandbox"
)

// sandboxed is f's node with the addresses the sandbox serves: its stub installer for the
// distribution's script, and a stub engine installer.
func sandboxed(f fixture) (Node, map[string][]byte) {
	n := f.node
	n.InstallScriptURL = nodesandbox.InstallerURL
	files := map[string][]byte{}
	if n.ContainerRuntime == "docker" {
		n.Engine.InstallURL = nodesandbox.FileServerURL + "/install-docker.sh"
		files["/install-docker.sh"] = nodesandbox.StubInstaller("install-docker.sh")
	}
	return n, files
}

// TestBoot_everyRole boots every golden case's user data with real cloud-init in the node
// sandbox (IMDSv2 stub, stub installers, systemctl and hostnamectl stand-ins) and checks what
// the node is left with: its name, its config merged as RKE2 and k3s merge it, its secrets by
// role, the installer's environment, the service started, the template's own user data run.
func TestBoot_everyRole(t *testing.T) {
	p := testPKI(t)
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			n, served := sandboxed(f)
			l := f.launch(p)
			ud, _, err := UserData(n, l)
			if err != nil {
				t.Fatal(err)
			}
			md := nodesandbox.Metadata{InstanceID: "i-0abc00000000000" + fmt.Sprint(len(f.name)%10), AMILaunchIndex: 2,
				LocalIPv4: "10.0.1.23", AvailabilityZone: "us-west-2b"}
			if n.Server() {
				md.PublicIPv4 = "203.0.113.23"
			}
			r := nodesandbox.Boot(t, nodesandbox.Node{UserData: ud, Metadata: md, Files: served})
			r.RequireDone(t)
			checkBoot(t, n, l, p, md, r)
		})
	}
}

func checkBoot(t *testing.T, n Node, l Launch, p *PKI, md nodesandbox.Metadata, r *nodesandbox.Result) {
	t.Helper()
	d := distros[n.Distribution]
	name := fmt.Sprintf("%s%d", n.HostnamePrefix, l.IndexBase+md.AMILaunchIndex)
	if r.Hostname != name {
		t.Errorf("hostname %q; want %q (prefix, launch index base %d + launch index %d)", r.Hostname, name, l.IndexBase, md.AMILaunchIndex)
	}
	if len(r.IMDSRequests) == 0 || r.IMDSRequests[0].Method != http.MethodPut {
		t.Errorf("the first IMDS request is not the IMDSv2 token: %v", r.IMDSRequests)
	}
	conf, err := nodesandbox.MergedConfig(r, d.confDir)
	if err != nil {
		t.Fatal(err)
	}
	str := func(k string) string { s, _ := conf[k].(string); return s }
	list := func(k string) []string {
		var out []string
		for _, v := range asSlice(conf[k]) {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	flag := func(k string) bool { b, _ := conf[k].(bool); return b }
	if str("node-name") != name || str("node-ip") != md.LocalIPv4 {
		t.Errorf("node-name %q, node-ip %q; want %q, %q", str("node-name"), str("node-ip"), name, md.LocalIPv4)
	}

	// Joining and secrets, by role (point 4).
	switch {
	case l.Init:
		if str("server") != "" || d.name == "k3s" && !flag("cluster-init") {
			t.Errorf("the init node: server %q, cluster-init %v; want no server (k3s: cluster-init)", str("server"), conf["cluster-init"])
		}
	default:
		if want := d.joinURL(l.Server); str("server") != want {
			t.Errorf("server %q; want %q", str("server"), want)
		}
	}
	keys := 0
	for _, f := range r.Files {
		if strings.HasPrefix(f.Path, "/var/lib/cloud/") || strings.HasPrefix(f.Path, "/run/cloud-init/") {
			continue // cloud-init's own copies of the user data (0600)
		}
		if strings.Contains(string(f.Content), "PRIVATE KEY") {
			keys++
			if f.Mode.Perm() != 0o600 {
				t.Errorf("%s holds a private key with mode %v", f.Path, f.Mode.Perm())
			}
		}
		if strings.Contains(string(f.Content), p.ServerToken[len(p.ServerToken)-32:]) && !n.Server() {
			t.Errorf("agent %s holds the server token", f.Path)
		}
	}
	tls := d.dataDir + "/server/tls/"
	switch {
	case l.Init:
		if keys != len(CAFileNames)+1 || str("token") != p.ServerToken || str("agent-token") != p.AgentToken {
			t.Errorf("the init node: %d private keys, token %q, agent-token %q; want the %d CA keys, service.key and both tokens", keys, str("token"), str("agent-token"), len(CAFileNames))
		}
		for _, ca := range CAFileNames {
			got, err := r.ReadFile(tls + ca + ".crt")
			if err != nil || string(got) != p.SecretsFor(n, true).CA.CAs[ca].Cert+p.Intermediate.Cert+p.Root.Cert {
				t.Errorf("%s.crt: %v; want the CA, the intermediate and the root", ca, err)
			}
			if _, ok := r.File(tls + ca + ".pem"); ok && !r.Files[tls+ca+".pem"].Deleted {
				t.Errorf("%s.pem is left on the node", ca)
			}
		}
		// The token's CA hash is the root's, as RKE2 and k3s compute it from the bundle.
		bundle, _ := r.ReadFile(tls + "server-ca.crt")
		if h := k3sCAHash(t, string(bundle)); !strings.HasPrefix(str("token"), "K10"+h+"::") {
			t.Errorf("the token's CA hash is not the server CA bundle's root hash %s", h)
		}
	case n.Server():
		if keys != 0 || str("token") != p.ServerToken || str("agent-token") != p.AgentToken {
			t.Errorf("a joining server: %d private keys, token %q, agent-token %q; want no key, both tokens", keys, str("token"), str("agent-token"))
		}
	default:
		if keys != 0 || str("token") != p.AgentToken || conf["agent-token"] != nil {
			t.Errorf("an agent: %d private keys, token %q, agent-token %v; want the agent token only", keys, str("token"), conf["agent-token"])
		}
	}
	if f, ok := r.File(d.confDir + "/config.yaml.d/" + configJoinFile); !ok || f.Mode.Perm() != 0o600 {
		t.Errorf("the join config (tokens) is missing or not 0600: %v", f)
	}

	// Roles.
	etcdOnly, cpOnly := n.Etcd() && !n.ControlPlane(), n.ControlPlane() && !n.Etcd()
	if flag("disable-apiserver") != etcdOnly || flag("disable-scheduler") != etcdOnly || flag("disable-controller-manager") != etcdOnly {
		t.Errorf("etcd-only %v: disable-apiserver/scheduler/controller-manager = %v/%v/%v", etcdOnly, conf["disable-apiserver"], conf["disable-scheduler"], conf["disable-controller-manager"])
	}
	if flag("disable-etcd") != cpOnly {
		t.Errorf("control-plane-only %v: disable-etcd = %v", cpOnly, conf["disable-etcd"])
	}
	taints := list("node-taint")
	for _, want := range append(n.DefaultTaints(), n.Taints...) {
		if !slices.Contains(taints, want) {
			t.Errorf("node-taint %v lacks %s", taints, want)
		}
	}
	labels := list("node-label")
	for _, l := range labels {
		if strings.HasPrefix(l, "node-role.kubernetes.io/") {
			t.Errorf("node-label %s: a kubelet may not set node-role labels", l)
		}
	}
	for k, v := range n.Labels {
		if !slices.Contains(labels, k+"="+v) {
			t.Errorf("node-label %v lacks the template's node_labels %s=%s", labels, k, v)
		}
	}
	if n.Server() {
		san := list("tls-san")
		for _, want := range []string{md.LocalIPv4, md.PublicIPv4, l.RegistrationAddress} {
			if want != "" && !slices.Contains(san, want) {
				t.Errorf("tls-san %v lacks %s", san, want)
			}
		}
		if n.Distribution == "rke2" && str("cni") != n.NetworkPlugin {
			t.Errorf("cni %q; want %q", str("cni"), n.NetworkPlugin)
		}
		if str("cluster-cidr") != n.ClusterCIDR || str("service-cidr") != n.ServiceCIDR || str("cluster-dns") != n.ClusterDNS {
			t.Errorf("network %q %q %q; want %q %q %q", str("cluster-cidr"), str("service-cidr"), str("cluster-dns"), n.ClusterCIDR, n.ServiceCIDR, n.ClusterDNS)
		}
	}
	if n.CloudProvider == "aws" {
		args := list("kubelet-arg")
		if want := "provider-id=aws:///" + md.AvailabilityZone + "/" + md.InstanceID; !slices.Contains(args, "cloud-provider=external") || !slices.Contains(args, want) {
			t.Errorf("kubelet-arg %v; want cloud-provider=external and %s", args, want)
		}
		if n.Server() && !flag("disable-cloud-controller") {
			t.Error("a server runs the distribution's own cloud controller next to the AWS one")
		}
	}
	if s := n.EtcdSnapshot; s != nil && s.S3Bucket != "" && n.Etcd() && (str("etcd-s3-bucket") != s.S3Bucket || !flag("etcd-s3")) {
		t.Errorf("etcd-s3 %v, bucket %q; want %q", conf["etcd-s3"], str("etcd-s3-bucket"), s.S3Bucket)
	}
	// Snapshots are taken by etcd servers (a fixture's node is its spec: only etcd nodes keep
	// the etcd_snapshot block); no other node carries the keys.
	if s := n.EtcdSnapshot; s != nil && n.Etcd() {
		if str("etcd-snapshot-schedule-cron") != s.ScheduleCron || fmt.Sprint(conf["etcd-snapshot-retention"]) != fmt.Sprint(s.Retention) {
			t.Errorf("etcd-snapshot-schedule-cron %q, etcd-snapshot-retention %v; want %q, %d", str("etcd-snapshot-schedule-cron"), conf["etcd-snapshot-retention"], s.ScheduleCron, s.Retention)
		}
	} else if conf["etcd-snapshot-schedule-cron"] != nil || conf["etcd-snapshot-retention"] != nil {
		t.Errorf("a node without etcd snapshots: etcd-snapshot-schedule-cron %v, etcd-snapshot-retention %v", conf["etcd-snapshot-schedule-cron"], conf["etcd-snapshot-retention"])
	}
	// k3s without a CNI: its servers run no flannel (and no network policy controller of its
	// own); agents take it from the servers; RKE2 has cni instead.
	wantFlannel := ""
	if n.Distribution == "k3s" && n.Server() && n.NetworkPlugin == "none" {
		wantFlannel = "none"
		if !flag("disable-network-policy") {
			t.Errorf("k3s without a CNI: disable-network-policy %v; want true", conf["disable-network-policy"])
		}
	}
	if str("flannel-backend") != wantFlannel || conf["flannel-backend"] != nil && wantFlannel == "" {
		t.Errorf("flannel-backend %v; want %q", conf["flannel-backend"], wantFlannel)
	}
	// system_default_registry: on RKE2 servers and agents, on k3s servers (a k3s agent has no
	// such option).
	wantRegistry := ""
	if n.SystemDefaultRegistry != "" && (n.Server() || n.Distribution == "rke2") {
		wantRegistry = n.SystemDefaultRegistry
	}
	if str("system-default-registry") != wantRegistry || conf["system-default-registry"] != nil && wantRegistry == "" {
		t.Errorf("system-default-registry %v; want %q", conf["system-default-registry"], wantRegistry)
	}
	checkCCM(t, n, d, r)

	// Install and service.
	var install *nodesandbox.Install
	for i := range r.Installs {
		if r.Installs[i].Name == "install.sh" {
			install = &r.Installs[i]
		}
	}
	if install == nil {
		t.Fatalf("the distribution's installer never ran: %v", r.Installs)
	}
	for k, v := range d.installEnv(n) {
		if install.Env[k] != v {
			t.Errorf("installer %s=%q; want %q", k, install.Env[k], v)
		}
	}
	for k, v := range n.InstallEnv {
		if install.Env[k] != v {
			t.Errorf("installer %s=%q; want %q (install_env)", k, install.Env[k], v)
		}
	}
	for k, v := range n.Engine.Env {
		if install.Env[k] != v {
			t.Errorf("installer %s=%q; want %q (engine_env)", k, install.Env[k], v)
		}
	}
	service := d.service(n.Server()) + ".service"
	if !slices.ContainsFunc(r.CallsTo("systemctl"), func(c []string) bool { return slices.Equal(c, []string{"enable", "--now", service}) }) {
		t.Errorf("systemctl calls %v; want enable --now %s", r.CallsTo("systemctl"), service)
	}

	// Engine options have an effect.
	if len(n.Engine.Env) > 0 {
		env, _ := r.ReadFile("/etc/default/" + d.service(n.Server()))
		for k := range n.Engine.Env {
			if !strings.Contains(string(env), k+"=") {
				t.Errorf("/etc/default/%s lacks %s", d.service(n.Server()), k)
			}
		}
	}
	if len(n.Engine.RegistryMirrors) > 0 {
		reg, err := r.YAML(d.confDir + "/registries.yaml")
		if err != nil || !strings.Contains(fmt.Sprint(reg["mirrors"]), n.Engine.RegistryMirrors[0]) {
			t.Errorf("registries.yaml %v (%v) lacks the mirror", reg, err)
		}
	}
	if n.ContainerRuntime == "docker" {
		if !flag("docker") {
			t.Error("k3s on docker without docker: true")
		}
		if len(r.Installs) < 2 || r.Installs[0].Name != "install-docker.sh" {
			t.Errorf("installs %v; want the engine's before the distribution's", r.Installs)
		}
		daemon, err := r.ReadFile("/etc/docker/daemon.json")
		if err != nil || !strings.Contains(string(daemon), `"storage-driver": "overlay2"`) || !strings.Contains(string(daemon), `"max-concurrent-downloads": 10`) {
			t.Errorf("daemon.json: %v\n%s", err, daemon)
		}
	}
	if n.ExtraUserData != "" {
		if _, ok := r.File("/var/lib/user-data-ran"); !ok {
			t.Error("the template's user_data did not run")
		}
	}
	if f, ok := r.File(ScriptPath); !ok || f.Mode&fs.ModePerm != 0o700 {
		t.Errorf("the bootstrap script is missing or not 0700: %v", f)
	}
}

// ccmManifestPath is where the servers' auto-deploy manifests directory gets the
// aws-cloud-controller-manager.
func ccmManifestPath(d distro) string {
	return d.dataDir + "/server/manifests/ec2k8s-aws-cloud-controller-manager.yaml"
}

// checkCCM checks the aws-cloud-controller-manager the booted node was left with (issue 8,
// point 6): with cloud_provider = "aws", on every node running the control plane, a DaemonSet in
// the auto-deploy manifests directory with the image pinned for the cluster's Kubernetes minor,
// placed on control-plane nodes, tolerating the taint every node carries until a cloud
// controller has initialised it and the taints of dedicated servers; on no other node.
func checkCCM(t *testing.T, n Node, d distro, r *nodesandbox.Result) {
	t.Helper()
	path := ccmManifestPath(d)
	b, err := r.ReadFile(path)
	if !n.ControlPlane() || n.CloudProvider != "aws" {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is on a node with roles %v, cloud provider %q (read: %v); want it only on control-plane nodes with cloud provider aws", path, n.Roles, n.CloudProvider, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("the aws-cloud-controller-manager manifest: %v", err)
	}
	if f, ok := r.File(path); !ok || f.Mode.Perm() != 0o600 {
		t.Errorf("%s is not 0600: %v", path, f)
	}
	var ds *appsv1.DaemonSet
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if doc["kind"] != "DaemonSet" {
			continue
		}
		j, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		ds = &appsv1.DaemonSet{}
		if err := json.Unmarshal(j, ds); err != nil {
			t.Fatalf("%s: the DaemonSet: %v", path, err)
		}
	}
	if ds == nil || ds.Name != "aws-cloud-controller-manager" || ds.Namespace != "kube-system" {
		t.Fatalf("%s has no DaemonSet kube-system/aws-cloud-controller-manager: %v", path, ds)
	}
	pod := ds.Spec.Template.Spec
	want, err := CCMImage(n.KubernetesVersion)
	if err != nil {
		t.Fatal(err)
	}
	if len(pod.Containers) != 1 || pod.Containers[0].Image != want {
		t.Errorf("containers %v; want one, with the pinned image %s", pod.Containers, want)
	}
	if pod.NodeSelector["node-role.kubernetes.io/control-plane"] != "true" {
		t.Errorf("nodeSelector %v; want the control-plane nodes (node-role.kubernetes.io/control-plane: \"true\")", pod.NodeSelector)
	}
	taints := []corev1.Taint{{Key: "node.cloudprovider.kubernetes.io/uninitialized", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	for _, s := range append(n.DefaultTaints(), n.Taints...) { // the template's node_taints too
		kv, effect, _ := strings.Cut(s, ":")
		k, v, _ := strings.Cut(kv, "=")
		taints = append(taints, corev1.Taint{Key: k, Value: v, Effect: corev1.TaintEffect(effect)})
	}
	for _, taint := range taints {
		if !slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool { return tol.ToleratesTaint(&taint) }) {
			t.Errorf("tolerations %v do not tolerate %s", pod.Tolerations, taint.ToString())
		}
	}
}

func asSlice(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case nil:
		return nil
	default:
		return []any{v}
	}
}
