package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// TestSettledNodes: an apply that launches and terminates nothing keeps the nodes as they are,
// each named after itself (a Name to set back is unknown: the renaming may fail); nodes are not
// settled while their count is not the quantity or one of them is not running.
func TestSettledNodes(t *testing.T) {
	ctx := t.Context()
	node := func(index int, name, state string) provisioning.Node {
		h := "demo-w-" + string(rune('0'+index))
		if name == "" {
			name = h
		}
		return provisioning.Node{InstanceID: "i-" + h, Index: index, Hostname: h, Name: name, State: state}
	}
	for _, tc := range []struct {
		name        string
		nodes       []provisioning.Node
		quantity    int
		wantSettled bool
		wantUnknown []bool // per node: name planned unknown
	}{
		{"all running, named", []provisioning.Node{node(1, "", "running"), node(2, "", "running")}, 2, true, []bool{false, false}},
		{"one renamed in the console", []provisioning.Node{node(1, "", "running"), node(2, "renamed", "running")}, 2, true, []bool{false, true}},
		{"one pending", []provisioning.Node{node(1, "", "running"), node(2, "", "pending")}, 2, false, nil},
		{"one missing", []provisioning.Node{node(1, "", "running")}, 2, false, nil},
		{"none, none wanted", nil, 0, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state, d := nodesValue(tc.nodes)
			if d.HasError() {
				t.Fatal(d)
			}
			got, settled, d := settledNodes(ctx, state, tc.quantity)
			if d.HasError() {
				t.Fatal(d)
			}
			if settled != tc.wantSettled {
				t.Fatalf("settled = %v; want %v", settled, tc.wantSettled)
			}
			if !settled {
				if !got.Equal(state) {
					t.Errorf("unsettled nodes changed: %s", got)
				}
				return
			}
			for i, e := range got.Elements() {
				attrs := e.(types.Object).Attributes()
				if attrs["name"].IsUnknown() != tc.wantUnknown[i] {
					t.Errorf("node %d: name %s; want unknown %v", i, attrs["name"], tc.wantUnknown[i])
				}
				if !attrs["instance_id"].Equal(types.StringValue(tc.nodes[i].InstanceID)) || !attrs["hostname"].Equal(types.StringValue(tc.nodes[i].Hostname)) {
					t.Errorf("node %d changed: %v", i, attrs)
				}
			}
		})
	}
}
