package bootstrap

import (
	"slices"
	"testing"
)

// TestPoolConfig_defaultTaints holds each role set of the golden fixtures to the taints Rancher
// gives its nodes (rancher/rancher pkg/capr/taints.go, GetExpectedDefaultTaints), written out
// here rather than taken from DefaultTaints: none with the worker role; etcd NoExecute and
// control-plane NoSchedule on dedicated servers, except that a k3s server running both etcd and
// the control plane gets only the control-plane taint.
func TestPoolConfig_defaultTaints(t *testing.T) {
	const etcd, cp = "node-role.kubernetes.io/etcd:NoExecute", "node-role.kubernetes.io/control-plane:NoSchedule"
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
