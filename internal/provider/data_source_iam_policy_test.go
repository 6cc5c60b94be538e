package provider

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

const (
	testRole = "k8s-node"
	testKey  = "1234abcd-12ab-34cd-56ef-1234567890ab"
)

// TestAccIAMPolicy_matchesSeed runs the data source through the CLI and compares its outputs
// with the seed's three documents, placeholders filled with the inputs.
func TestAccIAMPolicy_matchesSeed(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	fill := map[string]string{"REGION": "us-west-2", "AWS_ACCOUNT_ID": "123456789012", "YOUR_ROLE_NAME": testRole, "KMS_KEY_ID": testKey}
	basic := acctest.SeedPolicy(t, "basic.json", fill)
	passrole := acctest.SeedPolicy(t, "passrole.json", fill)
	ebs := acctest.SeedPolicy(t, "ebs-encryption.json", fill)
	combined := combine(t, passrole, ebs)
	const ds = "data.ec2k8s_iam_policy.p"
	testAccRun(t, []resource.TestStep{
		{
			Config: `
data "ec2k8s_iam_policy" "p" {
  region     = "us-west-2"
  account_id = "123456789012"
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("json"), acctest.PolicyEquivalentTo(t, basic)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("minified_json"), acctest.PolicyEquivalentTo(t, basic)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("combined_json"), acctest.PolicyEquivalentTo(t, basic)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("ebs_encryption_json"), knownvalue.Null()),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("partition"), knownvalue.StringExact("aws")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("minified_json"), knownvalue.StringRegexp(regexp.MustCompile(`^\S+$`))),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		{
			Config: fmt.Sprintf(`
data "ec2k8s_iam_policy" "p" {
  region          = "us-west-2"
  account_id      = "123456789012"
  pass_role_names = [%q]
  kms_key_ids     = [%q]
}

output "size_matches" {
  value = data.ec2k8s_iam_policy.p.size == length(data.ec2k8s_iam_policy.p.minified_json)
}`, testRole, testKey),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("json"), acctest.PolicyEquivalentTo(t, passrole)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("ebs_encryption_json"), acctest.PolicyEquivalentTo(t, ebs)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("combined_json"), acctest.PolicyEquivalentTo(t, combined)),
				statecheck.ExpectKnownOutputValue("size_matches", knownvalue.Bool(true)),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	})
}

// combine joins the statements of two policy documents, as combined_json should.
func combine(t *testing.T, a, b string) string {
	t.Helper()
	body := func(doc string) string {
		start, end := strings.Index(doc, "["), strings.LastIndex(doc, "]")
		if start < 0 || end < start {
			t.Fatalf("not a policy document: %s", doc)
		}
		return doc[start+1 : end]
	}
	return `{"Version":"2012-10-17","Statement":[` + body(a) + "," + body(b) + "]}"
}

func TestAccIAMPolicy_partitionAndARNs(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	const ds = "data.ec2k8s_iam_policy.p"
	testAccRun(t, []resource.TestStep{{
		Config: `
data "ec2k8s_iam_policy" "p" {
  region          = "cn-north-1"
  account_id      = "*"
  pass_role_names = ["arn:aws-cn:iam::210987654321:role/nodes/k8s"]
  kms_key_ids     = ["arn:aws-cn:kms:cn-north-1:210987654321:key/mrk-0123456789abcdef0123456789abcdef"]
}`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("partition"), knownvalue.StringExact("aws-cn")),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("json"), knownvalue.StringRegexp(regexp.MustCompile(
				`"arn:aws-cn:ec2:cn-north-1:\*:instance/\*"[\s\S]*"arn:aws-cn:iam::210987654321:role/nodes/k8s"`))),
			statecheck.ExpectKnownValue(ds, tfjsonpath.New("ebs_encryption_json"), knownvalue.StringRegexp(regexp.MustCompile(
				`"arn:aws-cn:kms:cn-north-1:210987654321:key/mrk-0123456789abcdef0123456789abcdef"`))),
		},
	}})
}

func TestAccIAMPolicy_invalidInput(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	for name, tc := range map[string]struct{ attrs, want string }{
		"short account":       {`region = "us-west-2"` + "\n" + `account_id = "1234"`, `Invalid account_id`},
		"dashed account":      {`region = "us-west-2"` + "\n" + `account_id = "1234-5678-9012"`, `give the 12 digits (leading zeros included, no dashes)`},
		"bad region":          {`region = "Oregon"` + "\n" + `account_id = "123456789012"`, `"Oregon" is not an AWS region name`},
		"unknown partition":   {`region = "us-west-2"` + "\n" + `account_id = "123456789012"` + "\n" + `partition = "aws-mars"`, `"aws-mars" is not a supported AWS partition: use one of aws, aws-cn, aws-us-gov`},
		"partition vs region": {`region = "us-west-2"` + "\n" + `account_id = "123456789012"` + "\n" + `partition = "aws-cn"`, `region "us-west-2" is in partition "aws", not "aws-cn"`},
		"role wildcard":       {`region = "us-west-2"` + "\n" + `account_id = "123456789012"` + "\n" + `pass_role_names = ["k8s-*"]`, `Invalid pass_role_names`},
		"role bad chars":      {`region = "us-west-2"` + "\n" + `account_id = "123456789012"` + "\n" + `pass_role_names = ["my role"]`, `"my role" is not an IAM role name`},
		"kms alias":           {`region = "us-west-2"` + "\n" + `account_id = "123456789012"` + "\n" + `kms_key_ids = ["alias/aws/ebs"]`, `is a KMS alias`},
		"kms other region":    {`region = "us-west-2"` + "\n" + `account_id = "123456789012"` + "\n" + `kms_key_ids = ["arn:aws:kms:eu-west-1:123456789012:key/` + testKey + `"]`, `can only use keys from their own region`},
		"missing account":     {`region = "us-west-2"`, `The argument "account_id" is required`},
	} {
		t.Run(name, func(t *testing.T) {
			testAccRun(t, []resource.TestStep{planErrorStep("data \"ec2k8s_iam_policy\" \"p\" {\n"+tc.attrs+"\n}", tc.want)})
		})
	}
}

// TestAccIAMPolicy_tooLarge fails at read time, naming the limit, and warns about combined_json
// alone when only the combined document is over it.
func TestAccIAMPolicy_tooLarge(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	roles := make([]string, 0, 200)
	for i := range 200 {
		roles = append(roles, fmt.Sprintf("%q", fmt.Sprintf("node-role-with-a-long-name-%03d", i)))
	}
	testAccRun(t, []resource.TestStep{{
		Config: `
data "ec2k8s_iam_policy" "p" {
  region          = "us-west-2"
  account_id      = "123456789012"
  pass_role_names = [` + strings.Join(roles, ", ") + `]
}`,
		ExpectError: acctest.ErrorRe("IAM policy too large"),
	}})
}

// TestIAMPolicyModel_params: the known parts of a configuration become the policy's inputs;
// unknown and null values stay empty, so plan-time checks see only what is known.
func TestIAMPolicyModel_params(t *testing.T) {
	set := func(elems ...attr.Value) types.Set { return types.SetValueMust(types.StringType, elems) }
	m := iamPolicyModel{Region: types.StringValue("us-west-2"), AccountID: types.StringUnknown(), Partition: types.StringNull(),
		PassRoleNames: set(types.StringValue("k8s-node"), types.StringUnknown()), KMSKeyIDs: types.SetUnknown(types.StringType)}
	p, err := m.params(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := iampolicy.Params{Region: "us-west-2", PassRoles: []string{"k8s-node"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("params = %+v; want %+v", p, want)
	}
}
