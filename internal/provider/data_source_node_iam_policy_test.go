package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

const nodeDS = "data.ec2k8s_node_iam_policy.p"

// nodeDocs renders the documents iampolicy builds without a bucket; internal/iampolicy's tests
// hold them against cloud-provider-aws's docs/prerequisites.md, action by action.
func nodeDocs(t *testing.T) (controlPlane, node string) {
	t.Helper()
	docs, err := iampolicy.BuildNode(iampolicy.NodeParams{})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := docs.ControlPlane.Render()
	if err != nil {
		t.Fatal(err)
	}
	n, err := docs.Node.Render()
	if err != nil {
		t.Fatal(err)
	}
	return cp.Minified, n.Minified
}

// withSnapshotStatements is the control-plane document plus the etcd snapshot statements on
// bucketARN and objectsARN, written out here rather than taken from the registry.
func withSnapshotStatements(t *testing.T, controlPlane, bucketARN, objectsARN string) string {
	t.Helper()
	return combine(t, controlPlane, fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":%q},
{"Effect":"Allow","Action":["s3:PutObject","s3:GetObject","s3:DeleteObject","s3:AbortMultipartUpload"],"Resource":%q}]}`,
		bucketARN, objectsARN))
}

// TestAccNodeIAMPolicy_cloudProvider: with no input, the two documents of cloud-provider-aws,
// their minified forms and sizes, and no S3 statement.
func TestAccNodeIAMPolicy_cloudProvider(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	cp, node := nodeDocs(t)
	testAccRun(t, []resource.TestStep{{
		Config: `
data "ec2k8s_node_iam_policy" "p" {}

output "sizes_match" {
  value = [
    data.ec2k8s_node_iam_policy.p.control_plane_size == length(data.ec2k8s_node_iam_policy.p.control_plane_minified_json),
    data.ec2k8s_node_iam_policy.p.node_size == length(data.ec2k8s_node_iam_policy.p.node_minified_json),
  ]
}

output "same_policies" {
  value = [
    jsonencode(jsondecode(data.ec2k8s_node_iam_policy.p.control_plane_json)) == jsonencode(jsondecode(data.ec2k8s_node_iam_policy.p.control_plane_minified_json)),
    jsonencode(jsondecode(data.ec2k8s_node_iam_policy.p.node_json)) == jsonencode(jsondecode(data.ec2k8s_node_iam_policy.p.node_minified_json)),
  ]
}`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_json"), acctest.PolicyEquivalentTo(t, cp)),
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_minified_json"), acctest.PolicyEquivalentTo(t, cp)),
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("node_json"), acctest.PolicyEquivalentTo(t, node)),
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("node_minified_json"), acctest.PolicyEquivalentTo(t, node)),
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_minified_json"), knownvalue.StringRegexp(regexp.MustCompile(`^\S+$`))),
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_json"), knownvalue.StringRegexp(regexp.MustCompile(
				`"elasticloadbalancing:CreateLoadBalancer"[\s\S]*"iam:CreateServiceLinkedRole"`))),
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("node_json"), knownvalue.StringRegexp(regexp.MustCompile(`"ecr:GetAuthorizationToken"`))),
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("partition"), knownvalue.StringExact("aws")),
			statecheck.ExpectKnownOutputValue("sizes_match", knownvalue.ListExact([]knownvalue.Check{knownvalue.Bool(true), knownvalue.Bool(true)})),
			statecheck.ExpectKnownOutputValue("same_policies", knownvalue.ListExact([]knownvalue.Check{knownvalue.Bool(true), knownvalue.Bool(true)})),
		},
		ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
	}})
}

// TestAccNodeIAMPolicy_etcdSnapshots: a bucket adds the S3 statements to the control-plane
// document only, scoped to the bucket and folder; changing or dropping them follows.
func TestAccNodeIAMPolicy_etcdSnapshots(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	cp, node := nodeDocs(t)
	prod := withSnapshotStatements(t, cp, "arn:aws:s3:::my-etcd-snapshots", "arn:aws:s3:::my-etcd-snapshots/clusters/prod/*")
	testAccRun(t, []resource.TestStep{
		{
			Config: `
data "ec2k8s_node_iam_policy" "p" {
  etcd_snapshot_bucket = "my-etcd-snapshots"
  etcd_snapshot_folder = "clusters/prod/"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_json"), acctest.PolicyEquivalentTo(t, prod)),
				statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_minified_json"), acctest.PolicyEquivalentTo(t, prod)),
				statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("node_json"), acctest.PolicyEquivalentTo(t, node)),
				statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("etcd_snapshot_folder"), knownvalue.StringExact("clusters/prod/")),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		{
			Config: `
data "ec2k8s_node_iam_policy" "p" {
  partition            = "aws-cn"
  etcd_snapshot_bucket = "snapshots.example.cn"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_json"), acctest.PolicyEquivalentTo(t,
					withSnapshotStatements(t, cp, "arn:aws-cn:s3:::snapshots.example.cn", "arn:aws-cn:s3:::snapshots.example.cn/*"))),
				statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("partition"), knownvalue.StringExact("aws-cn")),
			},
		},
		{
			Config: `data "ec2k8s_node_iam_policy" "p" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_json"), acctest.PolicyEquivalentTo(t, cp)),
				statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("partition"), knownvalue.StringExact("aws")),
			},
		},
	})
}

// TestAccNodeIAMPolicy_unknownBucket: a bucket known only at apply does not trip the
// folder-needs-a-bucket rule at plan time, and the read waits for it.
func TestAccNodeIAMPolicy_unknownBucket(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	cp, _ := nodeDocs(t)
	testAccRun(t, []resource.TestStep{{
		Config: `
resource "terraform_data" "bucket" {
  input = "late-bucket"
}

data "ec2k8s_node_iam_policy" "p" {
  etcd_snapshot_bucket = terraform_data.bucket.output
  etcd_snapshot_folder = "etcd"
}`,
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectUnknownValue(nodeDS, tfjsonpath.New("control_plane_json")),
		}},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(nodeDS, tfjsonpath.New("control_plane_json"), acctest.PolicyEquivalentTo(t,
				withSnapshotStatements(t, cp, "arn:aws:s3:::late-bucket", "arn:aws:s3:::late-bucket/etcd/*"))),
		},
	}})
}

func TestAccNodeIAMPolicy_invalidInput(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	for name, tc := range map[string]struct{ attrs, want string }{
		"unknown partition":     {`partition = "aws-mars"`, `"aws-mars" is not a supported AWS partition: use one of aws, aws-cn, aws-us-gov`},
		"empty partition":       {`partition = ""`, `Invalid partition`},
		"bucket uppercase":      {`etcd_snapshot_bucket = "My_Snapshots"`, `"My_Snapshots" is not a valid S3 bucket name: use only lowercase letters, digits, dots (.) and hyphens (-)`},
		"bucket too short":      {`etcd_snapshot_bucket = "ab"`, `it is 2 characters long; use 3 to 63`},
		"bucket IP":             {`etcd_snapshot_bucket = "10.0.0.1"`, `formatted as an IP address`},
		"bucket reserved":       {`etcd_snapshot_bucket = "snaps-s3alias"`, `the suffix "-s3alias" is reserved for access point aliases`},
		"bucket as ARN":         {`etcd_snapshot_bucket = "arn:aws:s3:::snaps"`, `give the bucket's name alone, without arn: or s3://`},
		"bucket with path":      {`etcd_snapshot_bucket = "snaps/etcd"`, `put the path in etcd_snapshot_folder`},
		"bucket empty":          {`etcd_snapshot_bucket = ""`, `leave etcd_snapshot_bucket unset`},
		"folder leading slash":  {`etcd_snapshot_bucket = "snaps"` + "\n" + `etcd_snapshot_folder = "/etcd"`, `drop the leading "/"`},
		"folder wildcard":       {`etcd_snapshot_bucket = "snaps"` + "\n" + `etcd_snapshot_folder = "etcd/*"`, `IAM wildcards`},
		"folder dot-dot":        {`etcd_snapshot_bucket = "snaps"` + "\n" + `etcd_snapshot_folder = "etcd/../x"`, `the segment ".." would be folded away`},
		"folder double slash":   {`etcd_snapshot_bucket = "snaps"` + "\n" + `etcd_snapshot_folder = "etcd//prod"`, `empty segment`},
		"folder policy var":     {`etcd_snapshot_bucket = "snaps"` + "\n" + `etcd_snapshot_folder = "$${aws:username}"`, `safe key characters`},
		"folder without bucket": {`etcd_snapshot_folder = "etcd"`, `etcd_snapshot_folder is set without etcd_snapshot_bucket: set the bucket the folder is in, or drop the folder`},
		"unknown attribute":     {`region = "us-west-2"`, `An argument named "region" is not expected here`},
	} {
		t.Run(name, func(t *testing.T) {
			testAccRun(t, []resource.TestStep{planErrorStep("data \"ec2k8s_node_iam_policy\" \"p\" {\n"+tc.attrs+"\n}", tc.want)})
		})
	}
}

// TestAccNodeIAMPolicy_example runs the documentation's example as written.
func TestAccNodeIAMPolicy_example(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	example := acctest.ReadFile(t, "../../examples/data-sources/ec2k8s_node_iam_policy/data-source.tf")
	testAccRun(t, []resource.TestStep{{Config: example}})
}
