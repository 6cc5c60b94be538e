package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

var (
	_ datasource.DataSource                   = (*iamPolicyDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*iamPolicyDataSource)(nil)
)

func newIAMPolicyDataSource() datasource.DataSource { return &iamPolicyDataSource{} }

// iamPolicyDataSource prints the IAM policy the provisioning client needs. It is pure: no AWS call.
type iamPolicyDataSource struct{}

type iamPolicyModel struct {
	Region            types.String `tfsdk:"region"`
	AccountID         types.String `tfsdk:"account_id"`
	Partition         types.String `tfsdk:"partition"`
	PassRoleNames     types.Set    `tfsdk:"pass_role_names"`
	KMSKeyIDs         types.Set    `tfsdk:"kms_key_ids"`
	JSON              types.String `tfsdk:"json"`
	MinifiedJSON      types.String `tfsdk:"minified_json"`
	EBSEncryptionJSON types.String `tfsdk:"ebs_encryption_json"`
	CombinedJSON      types.String `tfsdk:"combined_json"`
	Size              types.Int64  `tfsdk:"size"`
}

func (d *iamPolicyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_iam_policy"
}

func (d *iamPolicyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The IAM policy the provisioning client needs: attach it to the identity of the " +
			"`ec2k8s_cloud_credential`. Built from the provider's registry of the AWS calls it makes, so it " +
			"grants exactly those. Makes no AWS call.",
		Attributes: map[string]schema.Attribute{
			"region": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "Region the nodes run in, such as `us-west-2`, or `*` for any region.",
			},
			"account_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "12-digit AWS account ID the nodes run in, or `*` for any account.",
			},
			"partition": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "AWS partition: `" + strings.Join(iampolicy.Partitions, "`, `") + "`. " +
					"Defaults to the region's partition (`aws` for `*`); when given, it must agree with the region.",
			},
			"pass_role_names": schema.SetAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "IAM roles the nodes' instance profiles carry, as names or role ARNs. " +
					"Adds `iam:PassRole` on exactly these roles; wildcards are refused.",
			},
			"kms_key_ids": schema.SetAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "KMS keys that encrypt the nodes' EBS volumes, as key IDs or key ARNs (not " +
					"aliases). Fills `ebs_encryption_json`.",
			},
			"json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The provisioning policy, indented.",
			},
			"minified_json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The provisioning policy without white space.",
			},
			"ebs_encryption_json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The policy for EBS encryption with `kms_key_ids`; null without keys.",
			},
			"combined_json": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Every statement of `json` and `ebs_encryption_json` in one document, with " +
					"unique Sids. A warning says when it is over the managed-policy size limit.",
			},
			"size": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: policySizeDescription("minified_json"),
			},
		},
	}
}

// params converts the known parts of a configuration; unknown values stay empty.
func (m iamPolicyModel) params(ctx context.Context) (iampolicy.Params, error) {
	p := iampolicy.Params{
		Region:    m.Region.ValueString(),
		AccountID: m.AccountID.ValueString(),
		Partition: m.Partition.ValueString(),
	}
	for _, set := range []struct {
		in  types.Set
		out *[]string
	}{{m.PassRoleNames, &p.PassRoles}, {m.KMSKeyIDs, &p.KMSKeys}} {
		if set.in.IsNull() || set.in.IsUnknown() {
			continue
		}
		var elems []types.String
		if diags := set.in.ElementsAs(ctx, &elems, false); diags.HasError() {
			return p, errors.New("reading a set of strings")
		}
		for _, e := range elems {
			if !e.IsUnknown() && !e.IsNull() {
				*set.out = append(*set.out, e.ValueString())
			}
		}
	}
	return p, nil
}

// decodeIAMPolicy reads the configuration and converts its known parts; ok is false after an error.
func decodeIAMPolicy(ctx context.Context, cfg tfsdk.Config, diags *diag.Diagnostics) (iamPolicyModel, iampolicy.Params, bool) {
	var m iamPolicyModel
	diags.Append(cfg.Get(ctx, &m)...)
	if diags.HasError() {
		return m, iampolicy.Params{}, false
	}
	p, err := m.params(ctx)
	if err != nil {
		diags.AddError("Invalid configuration", err.Error())
		return m, p, false
	}
	return m, p, true
}

func (d *iamPolicyDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	_, p, ok := decodeIAMPolicy(ctx, req.Config, &resp.Diagnostics)
	if !ok {
		return
	}
	for _, fe := range p.Check() {
		resp.Diagnostics.AddAttributeError(path.Root(fe.Field), "Invalid "+fe.Field, fe.Err.Error())
	}
}

func (d *iamPolicyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	m, p, ok := decodeIAMPolicy(ctx, req.Config, &resp.Diagnostics)
	if !ok {
		return
	}
	docs, err := iampolicy.Build(p)
	if err != nil {
		addPolicyBuildError(&resp.Diagnostics, err, "AWS would refuse this document as a managed policy. Split "+
			"pass_role_names or kms_key_ids across two ec2k8s_iam_policy data sources and attach both policies.",
			"Invalid IAM policy input")
		return
	}
	prov, ok := renderPolicy(docs.Provisioning, &resp.Diagnostics)
	if !ok {
		return
	}
	combined, ok := renderPolicy(docs.Combined, &resp.Diagnostics)
	if !ok {
		return
	}
	m.Partition = types.StringValue(iampolicy.PartitionForRegion(p.Region))
	if p.Partition != "" {
		m.Partition = types.StringValue(p.Partition)
	}
	m.JSON = types.StringValue(prov.JSON)
	m.MinifiedJSON = types.StringValue(prov.Minified)
	m.Size = types.Int64Value(int64(prov.Size))
	m.CombinedJSON = types.StringValue(combined.JSON)
	m.EBSEncryptionJSON = types.StringNull()
	if docs.EBSEncryption != nil {
		ebs, ok := renderPolicy(*docs.EBSEncryption, &resp.Diagnostics)
		if !ok {
			return
		}
		m.EBSEncryptionJSON = types.StringValue(ebs.JSON)
	}
	if combined.Size > iampolicy.MaxManagedPolicySize {
		resp.Diagnostics.AddAttributeWarning(path.Root("combined_json"), "Combined IAM policy too large",
			fmt.Sprintf("combined_json is %d characters minified, over the %d AWS allows in a managed policy. "+
				"Attach json and ebs_encryption_json as two policies instead.", combined.Size, iampolicy.MaxManagedPolicySize))
	}
	tflog.Info(ctx, "built IAM policy", map[string]any{
		"region": p.Region, "partition": m.Partition.ValueString(), "pass_roles": len(p.PassRoles),
		"kms_keys": len(p.KMSKeys), "size": prov.Size, "combined_size": combined.Size,
	})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
