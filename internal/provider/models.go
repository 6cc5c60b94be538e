package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
)

// credentialModel is an ec2k8s_cloud_credential, and also the credential object other resources
// receive whole (cloud_credential = ec2k8s_cloud_credential.aws).
type credentialModel struct {
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

// credentialResourceModel adds what only the credential resource itself exports.
type credentialResourceModel struct {
	credentialModel
	ARN    types.String `tfsdk:"arn"`
	UserID types.String `tfsdk:"user_id"`
}

type assumeRoleModel struct {
	RoleARN     types.String `tfsdk:"role_arn"`
	ExternalID  types.String `tfsdk:"external_id"`
	SessionName types.String `tfsdk:"session_name"`
}

// credentials converts the model for awsclient.
func (m credentialModel) credentials(ctx context.Context) (awsclient.Credentials, diag.Diagnostics) {
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
func (m credentialModel) authEqual(o credentialModel) bool {
	return m.AccessKey.Equal(o.AccessKey) && m.SecretKey.Equal(o.SecretKey) &&
		m.SessionToken.Equal(o.SessionToken) && m.Profile.Equal(o.Profile) && m.AssumeRole.Equal(o.AssumeRole)
}
