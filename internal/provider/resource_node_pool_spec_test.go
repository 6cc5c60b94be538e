package provider

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// bootInputs classifies every attribute of the objects a pool receives: true when a node is
// launched or booted with it (a change replaces nodes; unknown at plan, the spec is unknown),
// false when not (the security group's rules, the SSH key, the credential, members...). A new
// attribute fails TestNodeSpec_inputs until it is classified here.
var bootInputs = map[string]map[string]string{
	"node_template": {
		"id": none, "name": none, "cloud_credential": none, "zone": none, "architecture": none,
		"security_group_readonly": none, "open_ports": none, "ssh_cidr_blocks": none, "ssh_user": none, "ssh_public_key": none,
		"use_private_address": none,
		"region":              all, "availability_zone": all, "vpc_id": all, "subnet_id": all, "security_groups": all, "ami": all,
		"instance_type": all, "root_size": all, "volume_type": all, "encrypted": all, "kms_key_id": all,
		"iam_instance_profile": all, "private_address_only": all, "request_spot_instance": all,
		"spot_price": all, "monitoring": all, "ebs_optimized": all, "http_tokens": all, "http_put_response_hop_limit": all,
		"tags": all, "user_data": all, "node_labels": all, "node_taints": all,
		"engine_install_url": all, "engine_registry_mirrors": all, "engine_insecure_registries": all, "engine_labels": all,
		"engine_options": all, "engine_env": all, "engine_storage_driver": all,
	},
	"cluster": {
		"id": none, "cloud_credential": none, "enable_network_policy": none, "members": none, "state": none,
		// How a launch joins and its secrets are never part of the spec.
		"registration_address": none, "secrets": none, "cluster_ca_certificate": none, "api_server_url": none,
		"name": all, "distribution": all, "kubernetes_version": all, "cloud_provider": all, "container_runtime": all,
		"install_script_url": all, "install_env": all,
		// rke2 agents take the system images from it too; the sample cluster runs rke2.
		"system_default_registry": all,
		"network_plugin":          servers, "cluster_cidr": servers, "service_cidr": servers, "cluster_dns": servers,
		"etcd_snapshot": etcd,
	},
}

// Which pools an input is part of the spec of.
const (
	none    = "none"
	all     = "all"
	servers = "servers" // pools with etcd or control_plane
	etcd    = "etcd"
)

// specPools are the pools TestNodeSpec_inputs checks, by their roles.
var specPools = map[string]func(*nodePoolModel){
	"worker":        func(m *nodePoolModel) { m.Worker = types.BoolValue(true) },
	"control_plane": func(m *nodePoolModel) { m.ControlPlane = types.BoolValue(true) },
	"etcd":          func(m *nodePoolModel) { m.Etcd = types.BoolValue(true) },
}

func bootInputOf(class, pool string) bool {
	switch class {
	case all:
		return true
	case servers:
		return pool != "worker"
	case etcd:
		return pool == "etcd"
	}
	return false
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
	(&nodePoolResource{}).Schema(ctx, resource.SchemaRequest{}, &s)
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
	if obj == "cluster" {
		vals["distribution"] = tftypes.NewValue(tftypes.String, "rke2") // agents read by distribution
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

// spec plans a pool of roles with the given objects and returns its spec.
func (f specFixture) spec(t *testing.T, roles string, tmpl, cluster types.Object) types.String {
	t.Helper()
	m := nodePoolModel{Name: types.StringValue("workers"), HostnamePrefix: types.StringValue("demo-workers-"), Quantity: types.Int64Value(2),
		Etcd: types.BoolValue(false), ControlPlane: types.BoolValue(false), Worker: types.BoolValue(false),
		NodeTemplate: tmpl, Cluster: cluster}
	specPools[roles](&m)
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
	for obj, classes := range bootInputs {
		tft := f.types[obj].TerraformType(f.ctx).(tftypes.Object)
		names := make([]string, 0, len(tft.AttributeTypes))
		for name := range tft.AttributeTypes {
			names = append(names, name)
			if _, ok := classes[name]; !ok {
				t.Errorf("%s.%s is not classified in bootInputs: decide whether nodes are launched or booted with it", obj, name)
			}
		}
		slices.Sort(names)
		for pool := range specPools {
			base := f.spec(t, pool, f.object(t, "node_template", "", nil), f.object(t, "cluster", "", nil))
			if base.IsUnknown() {
				t.Fatal("the spec of fully known objects is unknown")
			}
			for _, name := range names {
				boot := bootInputOf(classes[name], pool)
				typ := tft.AttributeTypes[name]
				with := func(v tftypes.Value) types.String {
					if obj == "cluster" {
						return f.spec(t, pool, f.object(t, "node_template", "", nil), f.object(t, obj, name, &v))
					}
					return f.spec(t, pool, f.object(t, obj, name, &v), f.object(t, "cluster", "", nil))
				}
				t.Run(pool+"/"+obj+"."+name, func(t *testing.T) {
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
}

// TestNodeSpec_poolInputs: the pool's own boot inputs.
func TestNodeSpec_poolInputs(t *testing.T) {
	f := newSpecFixture(t)
	tmpl, cluster := f.object(t, "node_template", "", nil), f.object(t, "cluster", "", nil)
	base := f.spec(t, "worker", tmpl, cluster)
	for name, change := range map[string]func(*nodePoolModel){
		"hostname_prefix": func(m *nodePoolModel) { m.HostnamePrefix = types.StringValue("other-") },
		"roles":           func(m *nodePoolModel) { m.Etcd = types.BoolValue(true) },
		"name":            func(m *nodePoolModel) { m.Name = types.StringValue("other") },
	} {
		m := nodePoolModel{Name: types.StringValue("workers"), HostnamePrefix: types.StringValue("demo-workers-"), Quantity: types.Int64Value(2),
			Etcd: types.BoolValue(false), ControlPlane: types.BoolValue(false), Worker: types.BoolValue(true), NodeTemplate: tmpl, Cluster: cluster}
		change(&m)
		if _, _, diags := m.fillDerived(f.ctx); diags.HasError() {
			t.Fatal(diags)
		}
		if m.Spec.Equal(base) {
			t.Errorf("changing %s leaves the spec", name)
		}
	}
	m := nodePoolModel{Name: types.StringValue("workers"), HostnamePrefix: types.StringValue("demo-workers-"), Quantity: types.Int64Value(5),
		Etcd: types.BoolValue(false), ControlPlane: types.BoolValue(false), Worker: types.BoolValue(true), NodeTemplate: tmpl, Cluster: cluster}
	if _, _, diags := m.fillDerived(f.ctx); diags.HasError() || !m.Spec.Equal(base) {
		t.Errorf("quantity changes the spec (%s, was %s): scaling must replace no node", m.Spec, base)
	}
	_, unknown, _ := m.fillDerived(f.ctx)
	if slices.Contains(unknown, "quantity") {
		t.Error("quantity is a spec input")
	}
}

// TestSpecReader: each reader converts a known value and records an unknown one by name; a list
// or set with one unknown element is not known; a set comes out sorted, a list in its order;
// taints read as Kubernetes writes them.
func TestSpecReader(t *testing.T) {
	ctx := context.Background()
	list := func(elems ...attr.Value) types.List { return types.ListValueMust(types.StringType, elems) }
	set := func(elems ...attr.Value) types.Set { return types.SetValueMust(types.StringType, elems) }
	s := types.StringValue
	taintType := map[string]attr.Type{"key": types.StringType, "value": types.StringType, "effect": types.StringType}
	taint := func(k, v, e string) attr.Value {
		val := types.StringNull()
		if v != "" {
			val = s(v)
		}
		return types.ObjectValueMust(taintType, map[string]attr.Value{"key": s(k), "value": val, "effect": s(e)})
	}
	for _, tc := range []struct {
		name        string
		read        func(r *specReader) any
		want        string
		wantUnknown bool
	}{
		{"string", func(r *specReader) any { return r.str("a", s("x")) }, "x", false},
		{"unknown string", func(r *specReader) any { return r.str("a", types.StringUnknown()) }, "", true},
		{"null string", func(r *specReader) any { return r.str("a", types.StringNull()) }, "", false},
		{"bool", func(r *specReader) any { return r.boolean("a", types.BoolValue(true)) }, "true", false},
		{"unknown bool", func(r *specReader) any { return r.boolean("a", types.BoolUnknown()) }, "false", true},
		{"int64", func(r *specReader) any { return r.int64("a", types.Int64Value(7)) }, "7", false},
		{"unknown int64", func(r *specReader) any { return r.int64("a", types.Int64Unknown()) }, "0", true},
		{"float64", func(r *specReader) any { return r.float64("a", types.Float64Value(0.5)) }, "0.5", false},
		{"set, sorted", func(r *specReader) any { return r.strings("a", set(s("b"), s("a"))) }, "[a b]", false},
		{"list, in order", func(r *specReader) any { return r.strings("a", list(s("b"), s("a"))) }, "[b a]", false},
		{"list with an unknown element", func(r *specReader) any { return r.strings("a", list(s("b"), types.StringUnknown())) }, "[]", true},
		{"map", func(r *specReader) any {
			return r.dict("a", types.MapValueMust(types.StringType, map[string]attr.Value{"k": s("v")}))
		}, "map[k:v]", false},
		{"null map", func(r *specReader) any { return r.dict("a", types.MapNull(types.StringType)) }, "map[]", false},
		{"map with an unknown value", func(r *specReader) any {
			return r.dict("a", types.MapValueMust(types.StringType, map[string]attr.Value{"k": types.StringUnknown()}))
		}, "map[]", true},
		{"taints", func(r *specReader) any {
			return r.taints("a", types.ListValueMust(types.ObjectType{AttrTypes: taintType}, []attr.Value{taint("dedicated", "core", "NoSchedule"), taint("gpu", "", "NoExecute")}))
		}, "[dedicated=core:NoSchedule gpu:NoExecute]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &specReader{ctx: ctx}
			got := fmt.Sprint(tc.read(r))
			if r.diags.HasError() {
				t.Fatal(r.diags)
			}
			if got != tc.want {
				t.Errorf("read %s; want %s", got, tc.want)
			}
			if unknown := slices.Equal(r.unknown, []string{"a"}); unknown != tc.wantUnknown || (!unknown && len(r.unknown) > 0) {
				t.Errorf("unknown %v; want a recorded: %v", r.unknown, tc.wantUnknown)
			}
		})
	}
}

// TestGroupSettings: what the pool does to the managed group, read from the template; a value
// still unknown at apply is a bug, said so.
func TestGroupSettings(t *testing.T) {
	ctx := context.Background()
	tmpl := nodeTemplateModel{SecurityGroupReadonly: types.BoolValue(true),
		OpenPorts:     types.SetValueMust(types.StringType, []attr.Value{types.StringValue("8080"), types.StringValue("443")}),
		SSHCIDRBlocks: types.SetNull(types.StringType)}
	g, diags := groupSettings(ctx, tmpl)
	if diags.HasError() || !g.Readonly || !slices.Equal(g.OpenPorts, []string{"443", "8080"}) || g.SSHCIDRBlocks != nil {
		t.Errorf("groupSettings = %+v, %v", g, diags)
	}
	tmpl.SSHCIDRBlocks = types.SetUnknown(types.StringType)
	if _, diags := groupSettings(ctx, tmpl); !diags.HasError() || !strings.Contains(diags[0].Detail(), "ssh_cidr_blocks") {
		t.Errorf("an unknown ssh_cidr_blocks at apply: %v; want an error naming it", diags)
	}
}

// TestFillDerived: what follows from the pool's inputs: the region from the template, the ID,
// the default hostname prefix, and a key pair name only when the template has a key (unknown
// while the key is).
func TestFillDerived(t *testing.T) {
	f := newSpecFixture(t)
	cluster := f.object(t, "cluster", "name", ptr(tftypes.NewValue(tftypes.String, "demo")))
	for _, tc := range []struct {
		name                  string
		key                   tftypes.Value
		prefix                types.String
		wantPrefix, wantKey   string
		wantKeyNull, wantKeyU bool
	}{
		{"no key, default prefix", tftypes.NewValue(tftypes.String, nil), types.StringUnknown(), "demo-workers-", "", true, false},
		{"a key, own prefix", tftypes.NewValue(tftypes.String, "ssh-ed25519 AAAA"), types.StringValue("w-"), "w-", "ec2k8s-demo-workers", false, false},
		{"a key unknown", tftypes.NewValue(tftypes.String, tftypes.UnknownValue), types.StringValue("w-"), "w-", "", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl := f.object(t, "node_template", "ssh_public_key", &tc.key)
			tmpl = objectWith(t, tmpl, "region", types.StringValue("us-west-2"))
			m := nodePoolModel{Name: types.StringValue("workers"), HostnamePrefix: tc.prefix, Quantity: types.Int64Value(1),
				Etcd: types.BoolValue(false), ControlPlane: types.BoolValue(false), Worker: types.BoolValue(true), NodeTemplate: tmpl, Cluster: cluster}
			if _, _, d := m.fillDerived(f.ctx); d.HasError() {
				t.Fatal(d)
			}
			if m.Region.ValueString() != "us-west-2" || m.ID.ValueString() != "us-west-2/demo/workers" || m.HostnamePrefix.ValueString() != tc.wantPrefix {
				t.Errorf("region %s, id %s, hostname_prefix %s; want us-west-2, us-west-2/demo/workers, %s", m.Region, m.ID, m.HostnamePrefix, tc.wantPrefix)
			}
			if m.KeyPairName.IsNull() != tc.wantKeyNull || m.KeyPairName.IsUnknown() != tc.wantKeyU || m.KeyPairName.ValueString() != tc.wantKey {
				t.Errorf("key_pair_name %s; want %q (null %v, unknown %v)", m.KeyPairName, tc.wantKey, tc.wantKeyNull, tc.wantKeyU)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// objectWith is o with attribute name set to v.
func objectWith(t *testing.T, o types.Object, name string, v attr.Value) types.Object {
	t.Helper()
	attrs := maps.Clone(o.Attributes())
	attrs[name] = v
	out, d := types.ObjectValue(o.AttributeTypes(context.Background()), attrs)
	if d.HasError() {
		t.Fatal(d)
	}
	return out
}
