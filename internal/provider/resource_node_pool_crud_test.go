package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// TestNodesValue: each node becomes an element of nodes, every field in its attribute, roles in
// order.
func TestNodesValue(t *testing.T) {
	list, diags := nodesValue([]provisioning.Node{{InstanceID: "i-1", Index: 3, Hostname: "demo-etcd-3", Name: "renamed", Roles: []string{"etcd", "controlplane"},
		PrivateIP: "10.0.0.3", PublicIP: "", State: "running", Spec: "s", KeyName: "k"}})
	if diags.HasError() {
		t.Fatal(diags)
	}
	var nodes []struct {
		InstanceID types.String `tfsdk:"instance_id"`
		Hostname   types.String `tfsdk:"hostname"`
		Name       types.String `tfsdk:"name"`
		Index      types.Int64  `tfsdk:"index"`
		PrivateIP  types.String `tfsdk:"private_ip"`
		PublicIP   types.String `tfsdk:"public_ip"`
		State      types.String `tfsdk:"state"`
		Roles      []string     `tfsdk:"roles"`
	}
	if d := list.ElementsAs(context.Background(), &nodes, false); d.HasError() || len(nodes) != 1 {
		t.Fatalf("%d nodes (%v); want 1", len(nodes), d)
	}
	n := nodes[0]
	if n.InstanceID.ValueString() != "i-1" || n.Hostname.ValueString() != "demo-etcd-3" || n.Name.ValueString() != "renamed" || n.Index.ValueInt64() != 3 ||
		n.PrivateIP.ValueString() != "10.0.0.3" || n.PublicIP.IsNull() || n.PublicIP.ValueString() != "" || n.State.ValueString() != "running" ||
		len(n.Roles) != 2 || n.Roles[0] != "etcd" || n.Roles[1] != "controlplane" {
		t.Errorf("node %+v", n)
	}
	empty, _ := nodesValue(nil)
	if empty.IsNull() || len(empty.Elements()) != 0 {
		t.Errorf("no nodes = %s; want an empty list", empty)
	}
}

// TestRecordNodes: what EC2 has becomes the pool's nodes and quantity; the spec stays while
// every node has it and becomes drift:<other> when one does not; next_index passes every node.
func TestRecordNodes(t *testing.T) {
	node := func(index int, spec string) provisioning.Node {
		return provisioning.Node{InstanceID: "i-" + spec, Index: index, Spec: spec, State: "running"}
	}
	for _, tc := range []struct {
		name      string
		nextIndex int64
		nodes     []provisioning.Node
		wantSpec  string
		wantNext  int64
	}{
		{"all of the spec", 3, []provisioning.Node{node(1, "abc"), node(2, "abc")}, "abc", 3},
		{"one made otherwise", 3, []provisioning.Node{node(1, "abc"), node(2, "old")}, "drift:old", 3},
		{"a node past next_index", 2, []provisioning.Node{node(7, "abc")}, "abc", 8},
		{"none left", 5, nil, "abc", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := nodePoolModel{Spec: types.StringValue("abc"), NextIndex: types.Int64Value(tc.nextIndex), Quantity: types.Int64Value(9)}
			if d := recordNodes(&m, tc.nodes); d.HasError() {
				t.Fatal(d)
			}
			if m.Spec.ValueString() != tc.wantSpec || m.NextIndex.ValueInt64() != tc.wantNext ||
				m.Quantity.ValueInt64() != int64(len(tc.nodes)) || len(m.Nodes.Elements()) != len(tc.nodes) {
				t.Errorf("spec %s, next_index %s, quantity %s, %d nodes; want %s, %d, %d, %d",
					m.Spec, m.NextIndex, m.Quantity, len(m.Nodes.Elements()), tc.wantSpec, tc.wantNext, len(tc.nodes), len(tc.nodes))
			}
		})
	}
}
