package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
)

var (
	_ datasource.DataSource              = (*callerIdentityDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*callerIdentityDataSource)(nil)
)

func newCallerIdentityDataSource() datasource.DataSource { return &callerIdentityDataSource{} }

// callerIdentityDataSource asks STS who the SDK's default credential chain is.
type callerIdentityDataSource struct {
	data *providerData
}

type callerIdentityModel struct {
	ID        types.String `tfsdk:"id"`
	AccountID types.String `tfsdk:"account_id"`
	ARN       types.String `tfsdk:"arn"`
	UserID    types.String `tfsdk:"user_id"`
}

func (d *callerIdentityDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_caller_identity"
}

func (d *callerIdentityDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The AWS identity of the SDK's default credential chain (environment, shared " +
			"config and SSO, instance role), from STS GetCallerIdentity through the provider's STS endpoint. " +
			"Handy to fill `account_id` of `ec2k8s_iam_policy`. Needs no IAM permission.",
		Attributes: map[string]schema.Attribute{
			"id":         schema.StringAttribute{Computed: true, MarkdownDescription: "The account ID."},
			"account_id": schema.StringAttribute{Computed: true, MarkdownDescription: "12-digit AWS account ID."},
			"arn":        schema.StringAttribute{Computed: true, MarkdownDescription: "ARN of the calling identity."},
			"user_id":    schema.StringAttribute{Computed: true, MarkdownDescription: "Unique ID of the calling identity."},
		},
	}
}

func (d *callerIdentityDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *callerIdentityDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	if d.data == nil {
		addNotConfigured(&resp.Diagnostics)
		return
	}
	id, err := d.data.aws.Identity(ctx, awsclient.Credentials{})
	if err != nil {
		resp.Diagnostics.AddError("STS GetCallerIdentity failed",
			"The default credential chain found no working AWS identity. Set AWS_ACCESS_KEY_ID and "+
				"AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, check the shared config files, and check endpoints.sts.\n\n"+err.Error())
		return
	}
	m := callerIdentityModel{
		ID:        types.StringValue(id.AccountID),
		AccountID: types.StringValue(id.AccountID),
		ARN:       types.StringValue(id.ARN),
		UserID:    types.StringValue(id.UserID),
	}
	tflog.Info(ctx, "resolved caller identity", map[string]any{"account_id": m.AccountID.ValueString(), "arn": m.ARN.ValueString()})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
