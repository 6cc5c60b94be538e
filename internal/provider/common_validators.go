package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// domainCheck adapts a domain validation function to the framework's validators, so the rule
// lives in the domain package and the message reaches the user at plan time, on the attribute.
// validString, validInt64 and validFloat64 make one.
type domainCheck[T any] struct {
	desc string
	fn   func(T) error
}

func (c domainCheck[T]) Description(context.Context) string         { return c.desc }
func (c domainCheck[T]) MarkdownDescription(context.Context) string { return c.desc }

func (c domainCheck[T]) run(v T, path interface{ String() string }, add func(string, string)) {
	if err := c.fn(v); err != nil {
		add("Invalid "+path.String(), err.Error())
	}
}

type stringCheck struct{ domainCheck[string] }

func (c stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	c.run(req.ConfigValue.ValueString(), req.Path, func(s, d string) { resp.Diagnostics.AddAttributeError(req.Path, s, d) })
}

type int64Check struct{ domainCheck[int64] }

func (c int64Check) ValidateInt64(_ context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	c.run(req.ConfigValue.ValueInt64(), req.Path, func(s, d string) { resp.Diagnostics.AddAttributeError(req.Path, s, d) })
}

type float64Check struct{ domainCheck[float64] }

func (c float64Check) ValidateFloat64(_ context.Context, req validator.Float64Request, resp *validator.Float64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	c.run(req.ConfigValue.ValueFloat64(), req.Path, func(s, d string) { resp.Diagnostics.AddAttributeError(req.Path, s, d) })
}

// validString, validInt64 and validFloat64 check an attribute's value with fn, described as desc.
func validString(desc string, fn func(string) error) validator.String {
	return stringCheck{domainCheck[string]{desc, fn}}
}

func validInt64(desc string, fn func(int64) error) validator.Int64 {
	return int64Check{domainCheck[int64]{desc, fn}}
}

func validFloat64(desc string, fn func(float64) error) validator.Float64 {
	return float64Check{domainCheck[float64]{desc, fn}}
}

// validSetOf checks each string of a set.
func validSetOf(desc string, fn func(string) error) validator.Set {
	return setvalidator.ValueStringsAre(validString(desc, fn))
}

// validMap checks a map's keys and string values.
func validMap(keyDesc string, key func(string) error, valueDesc string, value func(string) error) []validator.Map {
	var out []validator.Map
	if key != nil {
		out = append(out, mapvalidator.KeysAre(validString(keyDesc, key)))
	}
	if value != nil {
		out = append(out, mapvalidator.ValueStringsAre(validString(valueDesc, value)))
	}
	return out
}

// wholeMapCheck checks a fully known map of strings at once.
type wholeMapCheck struct {
	desc string
	fn   func(map[string]string) []error
}

func (c wholeMapCheck) Description(context.Context) string         { return c.desc }
func (c wholeMapCheck) MarkdownDescription(context.Context) string { return c.desc }

func (c wholeMapCheck) ValidateMap(ctx context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	m := map[string]string{}
	for k, v := range req.ConfigValue.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() {
			return
		}
		m[k] = s.ValueString()
	}
	for _, err := range c.fn(m) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+req.Path.String(), err.Error())
	}
}

// setSizeCheck limits how many elements a set holds, saying why.
type setSizeCheck struct {
	max int
	why string
}

func (c setSizeCheck) Description(context.Context) string {
	return fmt.Sprintf("at most %d elements: %s", c.max, c.why)
}
func (c setSizeCheck) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }

func (c setSizeCheck) ValidateSet(_ context.Context, req validator.SetRequest, resp *validator.SetResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if n := len(req.ConfigValue.Elements()); n > c.max {
		resp.Diagnostics.AddAttributeError(req.Path, "Too many elements", fmt.Sprintf("%d given; at most %d: %s", n, c.max, c.why))
	}
}
