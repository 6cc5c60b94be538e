package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
)

// cloudCredentialModel is the credential object that node templates and clusters receive whole
// (cloud_credential = ec2k8s_cloud_credential.aws), and the part of an ec2k8s_cloud_credential
// they see: cloudCredentialResourceModel embeds it.
type cloudCredentialModel struct {
	ID           types.String `tfsdk:"id"`
	Name         types.String `tfsdk:"name"`
	Region       types.String `tfsdk:"region"`
	AccessKey    types.String `tfsdk:"access_key"`
	SecretKey    types.String `tfsdk:"secret_key"`
	SessionToken types.String `tfsdk:"session_token"`
	Profile      types.String `tfsdk:"profile"`
	AssumeRole   types.Object `tfsdk:"assume_role"`
	AccountID    types.String `tfsdk:"account_id"`
}

// assumeRoleModel is the credential's assume_role object.
type assumeRoleModel struct {
	RoleARN     types.String `tfsdk:"role_arn"`
	ExternalID  types.String `tfsdk:"external_id"`
	SessionName types.String `tfsdk:"session_name"`
}

// credentials converts the model for awsclient.
func (m cloudCredentialModel) credentials(ctx context.Context) (awsclient.Credentials, diag.Diagnostics) {
	c := awsclient.Credentials{
		Region:       m.Region.ValueString(),
		AccessKey:    m.AccessKey.ValueString(),
		SecretKey:    m.SecretKey.ValueString(),
		SessionToken: m.SessionToken.ValueString(),
		Profile:      m.Profile.ValueString(),
	}
	if m.AssumeRole.IsNull() || m.AssumeRole.IsUnknown() {
		return c, nil
	}
	var ar assumeRoleModel
	diags := m.AssumeRole.As(ctx, &ar, basetypes.ObjectAsOptions{})
	c.AssumeRole = &awsclient.AssumeRole{
		RoleARN:     ar.RoleARN.ValueString(),
		ExternalID:  ar.ExternalID.ValueString(),
		SessionName: ar.SessionName.ValueString(),
	}
	return c, diags
}

// authEqual reports whether two credentials authenticate the same way with the same secrets.
func (m cloudCredentialModel) authEqual(o cloudCredentialModel) bool {
	return m.AccessKey.Equal(o.AccessKey) && m.SecretKey.Equal(o.SecretKey) &&
		m.SessionToken.Equal(o.SessionToken) && m.Profile.Equal(o.Profile) && m.AssumeRole.Equal(o.AssumeRole)
}

// cloudCredentialObjectAttributes is the schema of cloudCredentialModel: the credential as other
// resources receive it. Terraform drops the attributes it does not list (arn, user_id), so
// passing the whole resource works.
func cloudCredentialObjectAttributes() map[string]schema.Attribute {
	str := func(desc string, sensitive bool) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Sensitive: sensitive, MarkdownDescription: desc}
	}
	return map[string]schema.Attribute{
		"id":            schema.StringAttribute{Required: true, MarkdownDescription: "The credential's ID."},
		"name":          str("The credential's name.", false),
		"region":        str("The credential's default region.", false),
		"access_key":    str("Access key ID.", false),
		"secret_key":    str("Secret access key.", true),
		"session_token": str("Session token.", true),
		"profile":       str("Shared config profile.", false),
		"assume_role": schema.SingleNestedAttribute{
			Optional:            true,
			MarkdownDescription: "Role to assume.",
			Attributes: map[string]schema.Attribute{
				"role_arn":     str("Role ARN.", false),
				"external_id":  str("External ID.", true),
				"session_name": str("Session name.", false),
			},
		},
		"account_id": str("The credential's account.", false),
	}
}
