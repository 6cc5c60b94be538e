package provider

import (
	"testing"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// TestNodesLeave: reconciling takes nodes away when there are more than the quantity, or nodes
// of another spec to replace; not when the pool grows or stays.
func TestNodesLeave(t *testing.T) {
	p := provisioning.Pool{Quantity: 2}
	hash, err := p.Spec.Hash()
	if err != nil {
		t.Fatal(err)
	}
	node := func(spec string) provisioning.Node { return provisioning.Node{Spec: spec} }
	for _, tc := range []struct {
		name     string
		quantity int
		current  []provisioning.Node
		want     bool
	}{
		{"as planned", 2, []provisioning.Node{node(hash), node(hash)}, false},
		{"scale up", 3, []provisioning.Node{node(hash), node(hash)}, false},
		{"from nothing", 2, nil, false},
		{"scale down", 1, []provisioning.Node{node(hash), node(hash)}, true},
		{"one to replace", 2, []provisioning.Node{node(hash), node("old")}, true},
		{"drifted, scaling up", 3, []provisioning.Node{node("drift")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.Quantity = tc.quantity
			if got := nodesLeave(p, tc.current); got != tc.want {
				t.Errorf("nodesLeave = %v; want %v", got, tc.want)
			}
		})
	}
}
