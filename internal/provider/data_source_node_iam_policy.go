package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

var (
	_ datasource.DataSource                   = (*nodeIAMPolicyDataSource)(nil)
	_ datasource.DataSourceWithValidateConfig = (*nodeIAMPolicyDataSource)(nil)
)

func newNodeIAMPolicyDataSource() datasource.DataSource { return &nodeIAMPolicyDataSource{} }

// nodeIAMPolicyDataSource prints the IAM policies of the nodes' instance profiles for
// cloud_provider = "aws", and for etcd snapshots in S3. It is pure: no AWS call.
type nodeIAMPolicyDataSource struct{}

type nodeIAMPolicyModel struct {
	Partition                types.String `tfsdk:"partition"`
	EtcdSnapshotBucket       types.String `tfsdk:"etcd_snapshot_bucket"`
	EtcdSnapshotFolder       types.String `tfsdk:"etcd_snapshot_folder"`
	ControlPlaneJSON         types.String `tfsdk:"control_plane_json"`
	ControlPlaneMinifiedJSON types.String `tfsdk:"control_plane_minified_json"`
	ControlPlaneSize         types.Int64  `tfsdk:"control_plane_size"`
	NodeJSON                 types.String `tfsdk:"node_json"`
	NodeMinifiedJSON         types.String `tfsdk:"node_minified_json"`
	NodeSize                 types.Int64  `tfsdk:"node_size"`
}

func (d *nodeIAMPolicyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_node_iam_policy"
}

func (d *nodeIAMPolicyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The IAM policies the nodes' instance profiles need when the cluster has " +
			"`cloud_provider = \"aws\"`: the control-plane policy (aws-cloud-controller-manager, and etcd snapshots " +
			"in S3 when a bucket is given) and the node policy (kubelets and ECR image pulls), as " +
			"kubernetes/cloud-provider-aws documents them for its 1.33 and 1.34 releases. Makes no AWS call.",
		Attributes: map[string]schema.Attribute{
			"partition": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "AWS partition of the bucket's ARNs: `" + strings.Join(iampolicy.Partitions, "`, `") +
					"`. Defaults to `aws`. The cloud provider's statements are on `*` in every partition.",
				Validators: []validator.String{validString("an AWS partition", iampolicy.ValidatePartition)},
			},
			"etcd_snapshot_bucket": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "S3 bucket the servers keep etcd snapshots in (RKE2/K3s `etcd-s3-bucket`), by name. " +
					"Adds to `control_plane_json` the S3 statements that taking, listing, pruning and restoring " +
					"snapshots need, on this bucket only.",
				Validators: []validator.String{validString("an S3 bucket name", iampolicy.ValidateS3BucketName)},
			},
			"etcd_snapshot_folder": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Folder of the snapshots in the bucket (`etcd-s3-folder`), such as `etcd/prod`. " +
					"Object permissions are granted under it only; unset, on the whole bucket. Needs `etcd_snapshot_bucket`.",
				Validators: []validator.String{validString("a snapshot folder", iampolicy.ValidateS3Folder)},
			},
			"control_plane_json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The control-plane policy, indented: for the role of etcd and control-plane nodes.",
			},
			"control_plane_minified_json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The control-plane policy without white space.",
			},
			"control_plane_size": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: policySizeDescription("control_plane_minified_json"),
			},
			"node_json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The node policy, indented: for the role of every node, servers included.",
			},
			"node_minified_json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The node policy without white space.",
			},
			"node_size": schema.Int64Attribute{
				Computed:            true,
				MarkdownDescription: policySizeDescription("node_minified_json"),
			},
		},
	}
}

// params converts the configuration; unknown and null values stay empty.
func (m nodeIAMPolicyModel) params() iampolicy.NodeParams {
	return iampolicy.NodeParams{
		Partition:          m.Partition.ValueString(),
		EtcdSnapshotBucket: m.EtcdSnapshotBucket.ValueString(),
		EtcdSnapshotFolder: m.EtcdSnapshotFolder.ValueString(),
	}
}

// ValidateConfig checks what the attribute validators cannot: a folder needs a bucket. Each
// attribute's own format is checked by its validator.
func (d *nodeIAMPolicyDataSource) ValidateConfig(ctx context.Context, req datasource.ValidateConfigRequest, resp *datasource.ValidateConfigResponse) {
	var m nodeIAMPolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !m.EtcdSnapshotFolder.IsNull() && m.EtcdSnapshotBucket.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("etcd_snapshot_folder"), "Invalid etcd_snapshot_folder",
			iampolicy.ErrFolderWithoutBucket.Error()+".")
	}
}

func (d *nodeIAMPolicyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m nodeIAMPolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p := m.params()
	docs, err := iampolicy.BuildNode(p)
	if err != nil {
		addPolicyBuildError(&resp.Diagnostics, err,
			"AWS would refuse this document as a managed policy; use a shorter etcd_snapshot_folder.",
			"Invalid node IAM policy input")
		return
	}
	cp, ok := renderPolicy(docs.ControlPlane, &resp.Diagnostics)
	if !ok {
		return
	}
	node, ok := renderPolicy(docs.Node, &resp.Diagnostics)
	if !ok {
		return
	}
	if p.Partition == "" {
		m.Partition = types.StringValue("aws")
	}
	m.ControlPlaneJSON = types.StringValue(cp.JSON)
	m.ControlPlaneMinifiedJSON = types.StringValue(cp.Minified)
	m.ControlPlaneSize = types.Int64Value(int64(cp.Size))
	m.NodeJSON = types.StringValue(node.JSON)
	m.NodeMinifiedJSON = types.StringValue(node.Minified)
	m.NodeSize = types.Int64Value(int64(node.Size))
	tflog.Info(ctx, "built node IAM policies", map[string]any{
		"partition": m.Partition.ValueString(), "etcd_snapshot_bucket": p.EtcdSnapshotBucket != "",
		"control_plane_size": cp.Size, "node_size": node.Size,
	})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
