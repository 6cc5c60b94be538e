package provider

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// bootInputs classifies every attribute of the objects a pool receives: true when a node is
// launched or booted with it (a change replaces nodes; unknown at plan, the spec is unknown),
// false when not (the security group's rules, the SSH key, the credential, members...). A new
// attribute fails TestNodeSpec_inputs until it is classified here.
var bootInputs = map[string]map[string]bool{
	"node_template": {
		"id": false, "name": false, "cloud_credential": false, "zone": false, "architecture": false,
		"security_group_readonly": false, "open_ports": false, "ssh_cidr_blocks": false, "ssh_user": false, "ssh_public_key": false,
		"region": true, "availability_zone": true, "vpc_id": true, "subnet_id": true, "security_groups": true, "ami": true,
		"instance_type": true, "root_size": true, "volume_type": true, "encrypted": true, "kms_key_id": true,
		"iam_instance_profile": true, "private_address_only": true, "use_private_address": true, "request_spot_instance": true,
		"spot_price": true, "monitoring": true, "ebs_optimized": true, "http_tokens": true, "http_put_response_hop_limit": true,
		"tags": true, "user_data": true, "node_labels": true, "node_taints": true,
		"engine_install_url": true, "engine_registry_mirrors": true, "engine_insecure_registries": true, "engine_labels": true,
		"engine_options": true, "engine_env": true, "engine_storage_driver": true,
	},
	"cluster": {
		"id": false, "cloud_credential": false, "enable_network_policy": false, "members": false, "state": false,
		"name": true, "distribution": true, "kubernetes_version": true, "network_plugin": true, "cloud_provider": true,
	},
}

// sample is a known value of type typ; variants differ in every leaf.
func sample(typ tftypes.Type, variant int) tftypes.Value {
	switch tt := typ.(type) {
	case tftypes.List:
		return tftypes.NewValue(tt, []tftypes.Value{sample(tt.ElementType, variant)})
	case tftypes.Set:
		return tftypes.NewValue(tt, []tftypes.Value{sample(tt.ElementType, variant)})
	case tftypes.Map:
		return tftypes.NewValue(tt, map[string]tftypes.Value{"k": sample(tt.ElementType, variant)})
	case tftypes.Object:
		vals := map[string]tftypes.Value{}
		for name, at := range tt.AttributeTypes {
			vals[name] = sample(at, variant)
		}
		return tftypes.NewValue(tt, vals)
	}
	switch {
	case typ.Is(tftypes.String):
		return tftypes.NewValue(typ, fmt.Sprintf("v%d", variant))
	case typ.Is(tftypes.Number):
		return tftypes.NewValue(typ, big.NewFloat(float64(variant+1)))
	case typ.Is(tftypes.Bool):
		return tftypes.NewValue(typ, variant == 1)
	}
	panic(fmt.Sprintf("sample: %s is not handled", typ))
}

// withUnknownElement is a collection value with one unknown element: known itself, not fully.
func withUnknownElement(typ tftypes.Type) (tftypes.Value, bool) {
	unknown := func(t tftypes.Type) tftypes.Value { return tftypes.NewValue(t, tftypes.UnknownValue) }
	switch tt := typ.(type) {
	case tftypes.List:
		return tftypes.NewValue(tt, []tftypes.Value{unknown(tt.ElementType)}), true
	case tftypes.Set:
		return tftypes.NewValue(tt, []tftypes.Value{unknown(tt.ElementType)}), true
	case tftypes.Map:
		return tftypes.NewValue(tt, map[string]tftypes.Value{"k": unknown(tt.ElementType)}), true
	}
	return tftypes.Value{}, false
}

// specFixture builds pools whose received objects have chosen values.
type specFixture struct {
	ctx   context.Context
	types map[string]basetypes.ObjectType
}

func newSpecFixture(t *testing.T) specFixture {
	ctx := context.Background()
	var s resource.SchemaResponse
	(&poolResource{}).Schema(ctx, resource.SchemaRequest{}, &s)
	f := specFixture{ctx: ctx, types: map[string]basetypes.ObjectType{}}
	for obj := range bootInputs {
		ot, ok := s.Schema.Attributes[obj].GetType().(basetypes.ObjectType)
		if !ok {
			t.Fatalf("%s is not an object attribute", obj)
		}
		f.types[obj] = ot
	}
	return f
}

// object is the sample object obj (variant 0) with attribute attr set to v, if attr is given.
func (f specFixture) object(t *testing.T, obj, attr string, v *tftypes.Value) types.Object {
	t.Helper()
	ot := f.types[obj]
	tft := ot.TerraformType(f.ctx).(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name, at := range tft.AttributeTypes {
		vals[name] = sample(at, 0)
	}
	if v != nil {
		vals[attr] = *v
	}
	val, err := ot.ValueFromTerraform(f.ctx, tftypes.NewValue(tft, vals))
	if err != nil {
		t.Fatal(err)
	}
	return val.(types.Object)
}

// spec plans a pool with the given objects and returns its spec.
func (f specFixture) spec(t *testing.T, tmpl, cluster types.Object) types.String {
	t.Helper()
	m := poolModel{Name: types.StringValue("workers"), HostnamePrefix: types.StringValue("demo-workers-"), Quantity: types.Int64Value(2),
		Etcd: types.BoolValue(false), ControlPlane: types.BoolValue(false), Worker: types.BoolValue(true),
		NodeTemplate: tmpl, Cluster: cluster}
	_, _, diags := m.fillDerived(f.ctx)
	if diags.HasError() {
		t.Fatalf("fillDerived: %v", diags)
	}
	return m.Spec
}

// TestNodeSpec_inputs holds the spec to exactly what a node is launched and booted with: for
// every attribute of the template and the cluster, an unknown value (or a list with an unknown
// element) leaves the spec unknown at plan if and only if the attribute is a boot input, and a
// new value changes the spec if and only if it is one. Known-ness and hashing cannot drift apart
// (the bug where a kms_key_id from another resource failed the apply with "inconsistent final
// plan").
func TestNodeSpec_inputs(t *testing.T) {
	f := newSpecFixture(t)
	base := f.spec(t, f.object(t, "node_template", "", nil), f.object(t, "cluster", "", nil))
	if base.IsUnknown() {
		t.Fatal("the spec of fully known objects is unknown")
	}
	for obj, classes := range bootInputs {
		tft := f.types[obj].TerraformType(f.ctx).(tftypes.Object)
		names := make([]string, 0, len(tft.AttributeTypes))
		for name := range tft.AttributeTypes {
			names = append(names, name)
			if _, ok := classes[name]; !ok {
				t.Errorf("%s.%s is not classified in bootInputs: decide whether nodes are launched or booted with it", obj, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			boot := classes[name]
			typ := tft.AttributeTypes[name]
			with := func(v tftypes.Value) types.String {
				if obj == "cluster" {
					return f.spec(t, f.object(t, "node_template", "", nil), f.object(t, obj, name, &v))
				}
				return f.spec(t, f.object(t, obj, name, &v), f.object(t, "cluster", "", nil))
			}
			t.Run(obj+"."+name, func(t *testing.T) {
				if got := with(tftypes.NewValue(typ, tftypes.UnknownValue)); got.IsUnknown() != boot {
					t.Errorf("unknown %s.%s: spec unknown = %v; want %v", obj, name, got.IsUnknown(), boot)
				}
				if v, ok := withUnknownElement(typ); ok {
					if got := with(v); got.IsUnknown() != boot {
						t.Errorf("%s.%s with an unknown element: spec unknown = %v; want %v", obj, name, got.IsUnknown(), boot)
					}
				}
				if got := with(sample(typ, 1)); got.Equal(base) == boot {
					t.Errorf("changed %s.%s: spec %s, before %s; want it changed = %v", obj, name, got, base, boot)
				}
			})
		}
	}
}

// TestNodeSpec_poolInputs: the pool's own boot inputs.
func TestNodeSpec_poolInputs(t *testing.T) {
	f := newSpecFixture(t)
	tmpl, cluster := f.object(t, "node_template", "", nil), f.object(t, "cluster", "", nil)
	base := f.spec(t, tmpl, cluster)
	for name, change := range map[string]func(*poolModel){
		"hostname_prefix": func(m *poolModel) { m.HostnamePrefix = types.StringValue("other-") },
		"roles":           func(m *poolModel) { m.Etcd = types.BoolValue(true) },
		"name":            func(m *poolModel) { m.Name = types.StringValue("other") },
	} {
		m := poolModel{Name: types.StringValue("workers"), HostnamePrefix: types.StringValue("demo-workers-"), Quantity: types.Int64Value(2),
			Etcd: types.BoolValue(false), ControlPlane: types.BoolValue(false), Worker: types.BoolValue(true), NodeTemplate: tmpl, Cluster: cluster}
		change(&m)
		if _, _, diags := m.fillDerived(f.ctx); diags.HasError() {
			t.Fatal(diags)
		}
		if m.Spec.Equal(base) {
			t.Errorf("changing %s leaves the spec", name)
		}
	}
	m := poolModel{Name: types.StringValue("workers"), HostnamePrefix: types.StringValue("demo-workers-"), Quantity: types.Int64Value(5),
		Etcd: types.BoolValue(false), ControlPlane: types.BoolValue(false), Worker: types.BoolValue(true), NodeTemplate: tmpl, Cluster: cluster}
	if _, _, diags := m.fillDerived(f.ctx); diags.HasError() || !m.Spec.Equal(base) {
		t.Errorf("quantity changes the spec (%s, was %s): scaling must replace no node", m.Spec, base)
	}
	_, unknown, _ := m.fillDerived(f.ctx)
	if slices.Contains(unknown, "quantity") {
		t.Error("quantity is a spec input")
	}
}
