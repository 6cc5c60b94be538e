package bootstrap

import (
	"slices"
	"strings"
	"testing"
)

// TestPoolConfig_defaultTaints holds each role set of the golden fixtures to the taints Rancher
// gives its nodes (rancher/rancher pkg/capr/taints.go, GetExpectedDefaultTaints), written out
// here rather than taken from DefaultTaints: none with the worker role; etcd NoExecute and
// control-plane NoSchedule on dedicated servers, except that a k3s server running both etcd and
// the control plane gets only the control-plane taint.
func TestPoolConfig_defaultTaints(t *testing.T) {
	const etcd, cp = "node-role.kubernetes.io/etcd=true:NoExecute", "node-role.kubernetes.io/control-plane=true:NoSchedule"
	want := map[string]map[string][]string{
		"rke2": {"etcd": {etcd}, "cp": {cp}, "etcd-cp": {etcd, cp}, "worker": nil, "all": nil},
		"k3s":  {"etcd": {etcd}, "cp": {cp}, "etcd-cp": {cp}, "worker": nil, "all": nil},
	}
	for _, dist := range Distributions {
		for pool, roles := range roleSets {
			t.Run(dist+"-"+pool, func(t *testing.T) {
				w, ok := want[dist][pool]
				if !ok {
					t.Fatalf("no expected taints for role set %s: add it to the table", pool)
				}
				var got []string
				if v, ok := poolConfig(baseNode(dist, pool, roles))["node-taint"]; ok {
					got, _ = v.([]string)
				}
				if !slices.Equal(got, w) {
					t.Errorf("node-taint %q; want %q", got, w)
				}
			})
		}
	}
}

// TestCheckEngine: the docker daemon's settings take effect only with k3s and the docker
// runtime, and are refused otherwise, each named; registries, mirrors and the environment work
// with containerd; a CIDR block as an insecure registry is docker's alone.
func TestCheckEngine(t *testing.T) {
	docker := Engine{InstallURL: "https://example.com/docker.sh", Labels: map[string]string{"a": "b"},
		StorageDriver: "overlay2", Options: map[string]string{"log-level": "warn"}}
	containerd := Engine{RegistryMirrors: []string{"https://mirror.example.com"}, InsecureRegistries: []string{"registry.local:5000"},
		Env: map[string]string{"HTTP_PROXY": "http://proxy:3128"}}
	for _, tc := range []struct {
		name, dist, runtime string
		engine              Engine
		want                string // "" for no error
	}{
		{"docker settings, k3s with docker", "k3s", "docker", docker, ""},
		{"docker settings, k3s with containerd", "k3s", "containerd", docker,
			`engine_install_url, engine_labels, engine_storage_driver, engine_options configure the docker daemon, which this cluster does not run (k3s with containerd)`},
		{"docker settings, rke2", "rke2", "containerd", Engine{StorageDriver: "overlay2"}, `engine_storage_driver configure the docker daemon, which this cluster does not run (rke2 with containerd)`},
		{"containerd settings, rke2", "rke2", "containerd", containerd, ""},
		{"containerd settings, k3s", "k3s", "containerd", containerd, ""},
		{"CIDR insecure registry, containerd", "rke2", "containerd", Engine{InsecureRegistries: []string{"10.0.0.0/8"}}, `"10.0.0.0/8" is a CIDR block`},
		{"CIDR insecure registry, docker", "k3s", "docker", Engine{InsecureRegistries: []string{"10.0.0.0/8"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEngine(Node{Distribution: tc.dist, ContainerRuntime: tc.runtime, Engine: tc.engine})
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v; want one that says %q", err, tc.want)
			}
		})
	}
}
