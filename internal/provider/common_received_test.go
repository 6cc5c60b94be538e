package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// resourceSchema is r's schema.
func resourceSchema(r resource.Resource) schema.Schema {
	var resp resource.SchemaResponse
	r.Schema(context.Background(), resource.SchemaRequest{}, &resp)
	return resp.Schema
}

// objectOf is an object of typ (an object type, as a schema attribute has) with the given
// attributes, every other one null.
func objectOf(t *testing.T, typ attr.Type, vals map[string]attr.Value) types.Object {
	t.Helper()
	ctx := context.Background()
	ot, ok := typ.(basetypes.ObjectType)
	if !ok {
		t.Fatalf("%s is not an object type", typ)
	}
	all := map[string]attr.Value{}
	for name, at := range ot.AttrTypes {
		if v, ok := vals[name]; ok {
			all[name] = v
			continue
		}
		null, err := at.ValueFromTerraform(ctx, tftypes.NewValue(at.TerraformType(ctx), nil))
		if err != nil {
			t.Fatal(err)
		}
		all[name] = null
	}
	for name := range vals {
		if _, ok := ot.AttrTypes[name]; !ok {
			t.Fatalf("the object has no attribute %s", name)
		}
	}
	obj, d := types.ObjectValue(ot.AttrTypes, all)
	if d.HasError() {
		t.Fatal(d)
	}
	return obj
}

// TestReceivedAttributes: what another resource receives is every attribute of the schema,
// optional, without defaults, plan modifiers or validators, with its sensitivity and description,
// nested objects included.
func TestReceivedAttributes(t *testing.T) {
	useState := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	check := []validator.String{validString("a name", func(string) error { return nil })}
	in := map[string]schema.Attribute{
		"id":     schema.StringAttribute{Computed: true, PlanModifiers: useState, MarkdownDescription: "ID."},
		"name":   schema.StringAttribute{Required: true, Validators: check, MarkdownDescription: "Name."},
		"secret": schema.StringAttribute{Computed: true, Sensitive: true, MarkdownDescription: "Secret."},
		"flag":   schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true)},
		"size":   schema.Int64Attribute{Required: true},
		"price":  schema.Float64Attribute{Optional: true, Sensitive: true},
		"groups": schema.SetAttribute{Optional: true, Sensitive: true, ElementType: types.StringType},
		"list":   schema.ListAttribute{Computed: true, ElementType: types.Int64Type},
		"tags":   schema.MapAttribute{Optional: true, Sensitive: true, ElementType: types.StringType},
		"snap": schema.SingleNestedAttribute{Optional: true, Computed: true, Attributes: map[string]schema.Attribute{
			"cron": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("@daily"), Sensitive: true},
		}},
		"members": schema.ListNestedAttribute{Required: true, NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"role": schema.StringAttribute{Required: true, Validators: check},
		}}},
	}
	out := receivedAttributes(in)
	var walk func(prefix string, in, out map[string]schema.Attribute)
	walk = func(prefix string, in, out map[string]schema.Attribute) {
		if len(in) != len(out) {
			t.Errorf("%s: %d attributes received of %d", prefix, len(out), len(in))
		}
		for name, a := range in {
			got, ok := out[name]
			if !ok {
				t.Errorf("%s%s is not received", prefix, name)
				continue
			}
			if !got.IsOptional() || got.IsRequired() || got.IsComputed() {
				t.Errorf("%s%s: optional %v, required %v, computed %v; want optional only", prefix, name, got.IsOptional(), got.IsRequired(), got.IsComputed())
			}
			if got.IsSensitive() != a.IsSensitive() || got.GetMarkdownDescription() != a.GetMarkdownDescription() {
				t.Errorf("%s%s: sensitive %v, description %q; want %v, %q", prefix, name, got.IsSensitive(), got.GetMarkdownDescription(), a.IsSensitive(), a.GetMarkdownDescription())
			}
			if !got.GetType().Equal(a.GetType()) {
				t.Errorf("%s%s: type %s; want %s", prefix, name, got.GetType(), a.GetType())
			}
			switch g := got.(type) {
			case schema.StringAttribute:
				if g.Default != nil || len(g.PlanModifiers) > 0 || len(g.Validators) > 0 {
					t.Errorf("%s%s keeps a default, plan modifier or validator", prefix, name)
				}
			case schema.BoolAttribute:
				if g.Default != nil {
					t.Errorf("%s%s keeps its default", prefix, name)
				}
			case schema.SingleNestedAttribute:
				walk(prefix+name+".", a.(schema.SingleNestedAttribute).Attributes, g.Attributes)
			case schema.ListNestedAttribute:
				walk(prefix+name+"[].", a.(schema.ListNestedAttribute).NestedObject.Attributes, g.NestedObject.Attributes)
			}
		}
	}
	walk("", in, out)
}

// TestReceivedAttribute_unhandled: a kind of attribute receivedAttribute does not know fails
// loudly (at provider start, in every test) instead of being dropped.
func TestReceivedAttribute_unhandled(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("an Int32Attribute was received without a panic")
		}
	}()
	receivedAttribute(schema.Int32Attribute{Optional: true})
}
