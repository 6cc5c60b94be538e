package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

var (
	_ resource.ResourceWithConfigure      = (*credentialResource)(nil)
	_ resource.ResourceWithImportState    = (*credentialResource)(nil)
	_ resource.ResourceWithValidateConfig = (*credentialResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*credentialResource)(nil)
)

func newCredentialResource() resource.Resource { return &credentialResource{} }

// credentialResource is an AWS identity with a default region, checked with STS. It creates
// nothing on AWS.
type credentialResource struct {
	data *providerData
}

func (r *credentialResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cloud_credential"
}

func (r *credentialResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
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

func (r *credentialResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *credentialResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m credentialResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var given []string
	for name, v := range map[string]interface{ IsNull() bool }{"access_key": m.AccessKey, "profile": m.Profile, "assume_role": m.AssumeRole} {
		if !v.IsNull() {
			given = append(given, name)
		}
	}
	if len(given) > 1 {
		sortStrings(given)
		resp.Diagnostics.AddAttributeError(path.Root(given[1]), "Conflicting authentication settings",
			fmt.Sprintf("%s are set together; give exactly one way of authenticating: access_key with secret_key, "+
				"profile, or assume_role (or none of them, for the SDK's default chain).", strings.Join(given, " and ")))
	}
	if !m.AssumeRole.IsNull() && !m.AssumeRole.IsUnknown() {
		if ra, ok := m.AssumeRole.Attributes()["role_arn"]; !ok || ra.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("assume_role").AtName("role_arn"), "Missing role_arn", "assume_role needs role_arn: the ARN of the role to assume.")
		}
	}
	if !m.AccessKey.IsNull() && m.SecretKey.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("secret_key"), "Missing secret_key", "access_key is set without secret_key: give both.")
	}
	if m.AccessKey.IsNull() && !m.SecretKey.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("access_key"), "Missing access_key", "secret_key is set without access_key: give both.")
	}
	if m.AccessKey.IsNull() && !m.SessionToken.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("session_token"), "session_token without keys", "session_token only goes with access_key and secret_key.")
	}
}

// ModifyPlan keeps the identity known while the authentication settings are unchanged; when they
// change (key rotation) only arn and user_id become unknown: account_id must stay the same.
func (r *credentialResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	var plan, state credentialResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.AccountID.IsNull() {
		return // just imported: nothing is known about the identity yet
	}
	plan.AccountID = state.AccountID
	if plan.authEqual(state.credentialModel) {
		plan.ARN, plan.UserID = state.ARN, state.UserID
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *credentialResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m credentialResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.check(ctx, &m, "", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *credentialResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m, prior credentialResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.check(ctx, &m, prior.AccountID.ValueString(), &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// check asks STS who the credential is and fills in the identity. wantAccount, when set, is the
// account the credential had before: another one is refused.
func (r *credentialResource) check(ctx context.Context, m *credentialResourceModel, wantAccount string, diags *diag.Diagnostics) {
	if r.data == nil {
		addNotConfigured(diags)
		return
	}
	creds, d := m.credentials(ctx)
	diags.Append(d...)
	if d.HasError() {
		return
	}
	id, err := r.data.aws.Identity(ctx, creds)
	if err != nil {
		diags.AddError("Cloud credential rejected",
			fmt.Sprintf("Cloud credential %q could not be verified with STS GetCallerIdentity. Check the keys, "+
				"profile or role, and the provider's endpoints.sts.\n\n%s", m.Name.ValueString(), err))
		return
	}
	if wantAccount != "" && id.AccountID != wantAccount {
		diags.AddError("Cloud credential changed accounts",
			fmt.Sprintf("Cloud credential %q belonged to account %s, but its new settings are of account %s (%s). "+
				"A credential keeps its account for its life, because templates and pools made with it live there. "+
				"To use the other account, give the credential a new name (which replaces it), or go back to keys of %s.",
				m.Name.ValueString(), wantAccount, id.AccountID, id.ARN, wantAccount))
		return
	}
	m.ID = m.Name
	m.AccountID = types.StringValue(id.AccountID)
	m.ARN = types.StringValue(id.ARN)
	m.UserID = types.StringValue(id.UserID)
	tflog.Info(ctx, "validated cloud credential", map[string]any{
		"name": m.Name.ValueString(), "region": m.Region.ValueString(), "auth": creds.Method(),
		"account_id": id.AccountID, "arn": id.ARN,
	})
}

// Read has nothing to refresh: the credential is not an AWS object, and its identity was checked
// when it was last applied.
func (r *credentialResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m credentialResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Name.IsNull() { // just imported: the ID is the name
		m.Name = m.ID
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func (r *credentialResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {
	// NO-OP: nothing exists on AWS; removing it from state is all there is.
}

func (r *credentialResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := provisioning.ValidateName(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", "Import a cloud credential by its name: "+err.Error())
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
}
