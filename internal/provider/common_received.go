package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// receivedAttributes turns a resource's schema into the attributes of the object another
// resource receives when it is passed whole (node_template = ec2k8s_node_template.ubuntu): every
// attribute optional, sensitivity kept, no defaults, validators or plan modifiers. Deriving it
// keeps the two schemas from drifting apart.
func receivedAttributes(attrs map[string]schema.Attribute) map[string]schema.Attribute {
	out := make(map[string]schema.Attribute, len(attrs))
	for name, a := range attrs {
		out[name] = receivedAttribute(a)
	}
	return out
}

func receivedAttribute(a schema.Attribute) schema.Attribute {
	desc := a.GetMarkdownDescription()
	switch a := a.(type) {
	case schema.StringAttribute:
		return schema.StringAttribute{Optional: true, Sensitive: a.Sensitive, MarkdownDescription: desc}
	case schema.BoolAttribute:
		return schema.BoolAttribute{Optional: true, Sensitive: a.Sensitive, MarkdownDescription: desc}
	case schema.Int64Attribute:
		return schema.Int64Attribute{Optional: true, Sensitive: a.Sensitive, MarkdownDescription: desc}
	case schema.Float64Attribute:
		return schema.Float64Attribute{Optional: true, Sensitive: a.Sensitive, MarkdownDescription: desc}
	case schema.SetAttribute:
		return schema.SetAttribute{Optional: true, Sensitive: a.Sensitive, ElementType: a.ElementType, MarkdownDescription: desc}
	case schema.ListAttribute:
		return schema.ListAttribute{Optional: true, Sensitive: a.Sensitive, ElementType: a.ElementType, MarkdownDescription: desc}
	case schema.MapAttribute:
		return schema.MapAttribute{Optional: true, Sensitive: a.Sensitive, ElementType: a.ElementType, MarkdownDescription: desc}
	case schema.SingleNestedAttribute:
		return schema.SingleNestedAttribute{Optional: true, Sensitive: a.Sensitive, Attributes: receivedAttributes(a.Attributes), MarkdownDescription: desc}
	case schema.ListNestedAttribute:
		return schema.ListNestedAttribute{Optional: true, Sensitive: a.Sensitive, MarkdownDescription: desc,
			NestedObject: schema.NestedAttributeObject{Attributes: receivedAttributes(a.NestedObject.Attributes)}}
	default:
		panic(fmt.Sprintf("receivedAttribute: %T is not handled; add it", a))
	}
}
