package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// errUnless fails every value that keep does not accept, naming it.
func errUnless[T comparable](keep func(T) bool) func(T) error {
	return func(v T) error {
		if keep(v) {
			return nil
		}
		return fmt.Errorf("%v is refused", v)
	}
}

// wantDiags checks diags against want: nil for none, else one error per string, in order, each
// on path p, with summary "Invalid <p>" and the string as its detail.
func wantDiags(t *testing.T, diags diag.Diagnostics, p path.Path, want []string) {
	t.Helper()
	if len(diags) != len(want) {
		t.Fatalf("%d diagnostics (%v); want %d: %q", len(diags), diags, len(want), want)
	}
	for i, d := range diags {
		withPath, ok := d.(diag.DiagnosticWithPath)
		if d.Severity() != diag.SeverityError || !ok || !withPath.Path().Equal(p) {
			t.Errorf("diagnostic %d: %v; want an error on %s", i, d, p)
		}
		if d.Summary() != "Invalid "+p.String() || d.Detail() != want[i] {
			t.Errorf("diagnostic %d: %q / %q; want %q / %q", i, d.Summary(), d.Detail(), "Invalid "+p.String(), want[i])
		}
	}
}

// The three scalar adapters, run on one value at path "thing".
func runString(v validator.String, value types.String) diag.Diagnostics {
	var r validator.StringResponse
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("thing"), ConfigValue: value}, &r)
	return r.Diagnostics
}

func runInt64(v validator.Int64, value types.Int64) diag.Diagnostics {
	var r validator.Int64Response
	v.ValidateInt64(context.Background(), validator.Int64Request{Path: path.Root("thing"), ConfigValue: value}, &r)
	return r.Diagnostics
}

func runFloat64(v validator.Float64, value types.Float64) diag.Diagnostics {
	var r validator.Float64Response
	v.ValidateFloat64(context.Background(), validator.Float64Request{Path: path.Root("thing"), ConfigValue: value}, &r)
	return r.Diagnostics
}

// TestValidScalars: the adapters of domain checks pass null and unknown values (a later phase
// sees them), pass what the check accepts, and put the check's own message on the attribute.
func TestValidScalars(t *testing.T) {
	str := validString("a thing", errUnless(func(s string) bool { return s == "good" }))
	i64 := validInt64("a number", errUnless(func(n int64) bool { return n > 0 }))
	f64 := validFloat64("a price", errUnless(func(f float64) bool { return f < 1 }))
	for _, tc := range []struct {
		name  string
		diags diag.Diagnostics
		want  []string
	}{
		{"string null", runString(str, types.StringNull()), nil},
		{"string unknown", runString(str, types.StringUnknown()), nil},
		{"string accepted", runString(str, types.StringValue("good")), nil},
		{"string refused", runString(str, types.StringValue("bad")), []string{"bad is refused"}},
		{"int64 unknown", runInt64(i64, types.Int64Unknown()), nil},
		{"int64 accepted", runInt64(i64, types.Int64Value(3)), nil},
		{"int64 refused", runInt64(i64, types.Int64Value(-3)), []string{"-3 is refused"}},
		{"float64 null", runFloat64(f64, types.Float64Null()), nil},
		{"float64 refused", runFloat64(f64, types.Float64Value(2.5)), []string{"2.5 is refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) { wantDiags(t, tc.diags, path.Root("thing"), tc.want) })
	}
	ctx := context.Background()
	for _, d := range []struct {
		v    interface{ Description(context.Context) string }
		want string
	}{{str, "a thing"}, {i64, "a number"}, {f64, "a price"}} {
		if got := d.v.Description(ctx); got != d.want {
			t.Errorf("Description = %q; want %q", got, d.want)
		}
	}
}

func stringSet(t *testing.T, elems ...string) types.Set {
	t.Helper()
	vals := make([]attr.Value, 0, len(elems))
	for _, e := range elems {
		vals = append(vals, types.StringValue(e))
	}
	s, d := types.SetValue(types.StringType, vals)
	if d.HasError() {
		t.Fatal(d)
	}
	return s
}

func stringMap(t *testing.T, m map[string]attr.Value) types.Map {
	t.Helper()
	v, d := types.MapValue(types.StringType, m)
	if d.HasError() {
		t.Fatal(d)
	}
	return v
}

// TestValidSetOf: every element of a set is checked, and an error is on the element.
func TestValidSetOf(t *testing.T) {
	ctx := context.Background()
	v := validSetOf("a port", errUnless(func(s string) bool { return s != "70000" }))
	var r validator.SetResponse
	v.ValidateSet(ctx, validator.SetRequest{Path: path.Root("open_ports"), ConfigValue: stringSet(t, "22", "70000")}, &r)
	want := path.Root("open_ports").AtSetValue(types.StringValue("70000"))
	wantDiags(t, r.Diagnostics, want, []string{"70000 is refused"})
}

// TestValidMap: validMap checks keys and values with their own functions, and has no validator
// for a part it is given no function for.
func TestValidMap(t *testing.T) {
	ctx := context.Background()
	noUpper := errUnless(func(s string) bool { return strings.ToLower(s) == s })
	m := stringMap(t, map[string]attr.Value{"Key": types.StringValue("Value")})
	for _, tc := range []struct {
		name       string
		key, value func(string) error
		want       []string
	}{
		{"keys only", noUpper, nil, []string{"Key is refused"}},
		{"values only", nil, noUpper, []string{"Value is refused"}},
		{"both", noUpper, noUpper, []string{"Key is refused", "Value is refused"}},
		{"neither", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			validators := validMap("a key", tc.key, "a value", tc.value)
			var got []string
			for _, v := range validators {
				var r validator.MapResponse
				v.ValidateMap(ctx, validator.MapRequest{Path: path.Root("labels"), ConfigValue: m}, &r)
				for _, d := range r.Diagnostics {
					got = append(got, d.Detail())
				}
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("%d validators report %q; want %q", len(validators), got, tc.want)
			}
		})
	}
}

// TestWholeMapCheck: the check sees the whole map only once every value is known, and each of
// its errors becomes a diagnostic on the map.
func TestWholeMapCheck(t *testing.T) {
	ctx := context.Background()
	var seen map[string]string
	c := wholeMapCheck{desc: "tags", fn: func(m map[string]string) []error {
		seen = m
		var errs []error
		for k := range m {
			if strings.HasPrefix(k, "bad") {
				errs = append(errs, errors.New(k+" is refused"))
			}
		}
		return errs
	}}
	for _, tc := range []struct {
		name     string
		value    types.Map
		wantSeen map[string]string
		want     []string
	}{
		{"null", types.MapNull(types.StringType), nil, nil},
		{"unknown", types.MapUnknown(types.StringType), nil, nil},
		{"an unknown value", stringMap(t, map[string]attr.Value{"a": types.StringValue("1"), "b": types.StringUnknown()}), nil, nil},
		{"accepted", stringMap(t, map[string]attr.Value{"a": types.StringValue("1")}), map[string]string{"a": "1"}, nil},
		{"refused", stringMap(t, map[string]attr.Value{"bad1": types.StringValue("1")}), map[string]string{"bad1": "1"}, []string{"bad1 is refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			var r validator.MapResponse
			c.ValidateMap(ctx, validator.MapRequest{Path: path.Root("tags"), ConfigValue: tc.value}, &r)
			if !reflect.DeepEqual(seen, tc.wantSeen) {
				t.Errorf("the check saw %v; want %v", seen, tc.wantSeen)
			}
			wantDiags(t, r.Diagnostics, path.Root("tags"), tc.want)
		})
	}
}

// TestSetSizeCheck: up to max elements pass; more are an error that says how many and why.
func TestSetSizeCheck(t *testing.T) {
	ctx := context.Background()
	c := setSizeCheck{max: 2, why: "EC2 says so"}
	for _, tc := range []struct {
		name  string
		value types.Set
		want  string
	}{
		{"null", types.SetNull(types.StringType), ""},
		{"unknown", types.SetUnknown(types.StringType), ""},
		{"at the limit", stringSet(t, "a", "b"), ""},
		{"over it", stringSet(t, "a", "b", "c"), "3 given; at most 2: EC2 says so"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r validator.SetResponse
			c.ValidateSet(ctx, validator.SetRequest{Path: path.Root("security_groups"), ConfigValue: tc.value}, &r)
			var got string
			if r.Diagnostics.HasError() {
				got = r.Diagnostics[0].Detail()
			}
			if got != tc.want {
				t.Errorf("error %q; want %q", got, tc.want)
			}
		})
	}
	if got := c.Description(ctx); got != "at most 2 elements: EC2 says so" {
		t.Errorf("Description = %q", got)
	}
}
