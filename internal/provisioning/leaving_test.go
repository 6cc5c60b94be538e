package provisioning

import "testing"

// TestLeaving: reconciling takes nodes away when there are more than the quantity, or nodes of
// another spec to replace (at most the quantity of them); not when the pool grows or stays.
func TestLeaving(t *testing.T) {
	p := Pool{}
	hash, err := p.Spec.Hash()
	if err != nil {
		t.Fatal(err)
	}
	node := func(spec string) Node { return Node{Spec: spec} }
	for _, tc := range []struct {
		name              string
		quantity          int
		current           []Node
		replaced, removed int
	}{
		{"as planned", 2, []Node{node(hash), node(hash)}, 0, 0},
		{"scale up", 3, []Node{node(hash), node(hash)}, 0, 0},
		{"from nothing", 2, nil, 0, 0},
		{"scale down", 1, []Node{node(hash), node(hash)}, 0, 1},
		{"one to replace", 2, []Node{node(hash), node("old")}, 1, 0},
		{"drifted, scaling up", 3, []Node{node("drift")}, 1, 0},
		{"all old, scaling down", 1, []Node{node("old"), node("old"), node("old")}, 1, 2},
		{"to zero", 0, []Node{node("old"), node(hash)}, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.Quantity = tc.quantity
			replaced, removed, err := Leaving(p, tc.current)
			if err != nil || replaced != tc.replaced || removed != tc.removed {
				t.Errorf("Leaving = %d replaced, %d removed (%v); want %d, %d", replaced, removed, err, tc.replaced, tc.removed)
			}
		})
	}
}
