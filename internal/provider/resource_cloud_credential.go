package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

var (
	_ resource.ResourceWithConfigure      = (*cloudCredentialResource)(nil)
	_ resource.ResourceWithImportState    = (*cloudCredentialResource)(nil)
	_ resource.ResourceWithValidateConfig = (*cloudCredentialResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*cloudCredentialResource)(nil)
)

func newCloudCredentialResource() resource.Resource { return &cloudCredentialResource{} }

// cloudCredentialResource is an AWS identity with a default region, checked with STS. It creates
// nothing on AWS.
type cloudCredentialResource struct {
	data *providerData
}

// cloudCredentialResourceModel adds what only the credential resource itself exports.
type cloudCredentialResourceModel struct {
	cloudCredentialModel
	ARN    types.String `tfsdk:"arn"`
	UserID types.String `tfsdk:"user_id"`
}

func (r *cloudCredentialResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cloud_credential"
}

func (r *cloudCredentialResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An AWS identity and default region for node templates and clusters (Rancher's " +
			"\"cloud credential\"). Create and update check it with STS GetCallerIdentity, so a wrong key fails " +
			"here, not in the middle of a cluster build. Give at most one way of authenticating: " +
			"`access_key` with `secret_key`, `profile`, or `assume_role`; with none, the AWS SDK's default chain " +
			"(environment, shared config and SSO, instance role) is used. Creates nothing on AWS.\n\n" +
			"Secrets are kept in Terraform state (marked sensitive) because the provider has no other store: " +
			"protect the state. They cannot be read back, so after `terraform import` the next apply sets " +
			"them from the configuration and checks them again.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The credential's name; use it to import.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Name of the credential. Changing it replaces the credential (nothing on AWS changes).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{validString("a credential name", provisioning.ValidateName)},
			},
			"region": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Default region of what uses this credential, such as `us-west-2`.",
				Validators:          []validator.String{validString("an AWS region", provisioning.ValidateRegion)},
			},
			"access_key": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Access key ID; needs `secret_key`. Changing it (key rotation) is an in-place update.",
				Validators:          []validator.String{validString("an access key ID", awsclient.ValidateAccessKey)},
			},
			"secret_key": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Secret access key of `access_key`. Never shown or logged; cannot be read back.",
				Validators:          []validator.String{validString("a secret access key", awsclient.ValidateSecretKey)},
			},
			"session_token": schema.StringAttribute{
				Optional:            true,
				Sensitive:           true,
				MarkdownDescription: "Session token for temporary `access_key`/`secret_key` credentials.",
			},
			"profile": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Named profile of the shared AWS config and credentials files.",
				Validators:          []validator.String{validString("a profile name", awsclient.ValidateProfile)},
			},
			"account_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "AWS account of the identity. It stays the same for the credential's life: keys from another account are refused.",
			},
			"arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "ARN of the identity, from STS.",
			},
			"user_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Unique ID of the identity, from STS.",
			},
		},
		Blocks: map[string]schema.Block{
			"assume_role": schema.SingleNestedBlock{
				MarkdownDescription: "A role to assume through STS, starting from the SDK's default chain.",
				Attributes: map[string]schema.Attribute{
					"role_arn": schema.StringAttribute{
						Optional:            true, // required when the block is given; see ValidateConfig
						MarkdownDescription: "ARN of the role. Required.",
						Validators:          []validator.String{validString("a role ARN", awsclient.ValidateRoleARN)},
					},
					"external_id": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: "External ID the role's trust policy asks for.",
						Validators:          []validator.String{validString("an external ID", awsclient.ValidateExternalID)},
					},
					"session_name": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "Role session name, shown in CloudTrail.",
						Validators:          []validator.String{validString("a session name", awsclient.ValidateSessionName)},
					},
				},
			},
		},
	}
}

func (r *cloudCredentialResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// ImportState takes the credential's name; its settings and secrets come from the configuration
// at the next apply, which checks them with STS.
func (r *cloudCredentialResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	importByName(ctx, req, resp, "a cloud credential", provisioning.ValidateName)
}
