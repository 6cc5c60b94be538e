package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

const (
	cloudCredentialAddr = "ec2k8s_cloud_credential.aws"
	rotatedKey          = "AKIAEC2K8SROTATED000"
	rotatedSecret       = "ec2k8s-acctest-rotated-secret"
)

func TestAccCloudCredential_lifecycle(t *testing.T) {
	moto := acctest.SharedMoto(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             acctest.CheckNothingCreated(moto, "us-west-2"),
		Steps: []resource.TestStep{
			{
				Config: acctest.ProviderConfig(moto) + acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("id"), knownvalue.StringExact("aws")),
					statecheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("account_id"), knownvalue.StringExact(acctest.AccountID)),
					statecheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("arn"), knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:(iam|sts)::123456789012:`))),
					statecheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("user_id"), knownvalue.NotNull()),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(cloudCredentialAddr, plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// Key rotation: an in-place update that keeps the account known in the plan.
				Config: acctest.ProviderConfig(moto) + acctest.CredentialConfig("aws", "us-west-2", rotatedKey, rotatedSecret),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(cloudCredentialAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("account_id"), knownvalue.StringExact(acctest.AccountID)),
						plancheck.ExpectUnknownValue(cloudCredentialAddr, tfjsonpath.New("arn")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("access_key"), knownvalue.StringExact(rotatedKey)),
					statecheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("account_id"), knownvalue.StringExact(acctest.AccountID)),
				},
			},
			// Import by name with an import block: the keys cannot be read back, so the plan sets
			// them from the configuration in place, and the identity is unknown until STS answers
			// the apply.
			importBlockStep(cloudCredentialAddr, "aws",
				plancheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("id"), knownvalue.StringExact("aws")),
				plancheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("access_key"), knownvalue.StringExact(rotatedKey)),
				plancheck.ExpectUnknownValue(cloudCredentialAddr, tfjsonpath.New("account_id"))),
			{
				// The imported state itself, which an import block's plan does not show: id and
				// name, and no secret read back from anywhere.
				ResourceName:      cloudCredentialAddr,
				ImportState:       true,
				ImportStateId:     "aws",
				ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"region", "access_key", "secret_key", "session_token", "profile",
					"assume_role", "account_id", "arn", "user_id"},
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("imported %d states; want 1", len(states))
					}
					if a := states[0].Attributes; a["secret_key"] != "" || a["access_key"] != "" {
						return fmt.Errorf("keys were read back on import")
					}
					return nil
				},
			},
		},
	})
}

// TestAccCloudCredential_importBlock is the user's import: an import block next to the resource;
// the apply imports by name, then sets the keys from configuration and checks them with STS.
func TestAccCloudCredential_importBlock(t *testing.T) {
	moto := acctest.SharedMoto(t)
	config := acctest.ProviderConfig(moto) + acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey)
	testAccRun(t, []resource.TestStep{importBlockApplyStep(config, cloudCredentialAddr, "aws",
		statecheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("account_id"), knownvalue.StringExact(acctest.AccountID)),
		statecheck.ExpectKnownValue(cloudCredentialAddr, tfjsonpath.New("region"), knownvalue.StringExact("us-west-2")))})
}

// TestAccCloudCredential_rejectedKey runs against a moto that enforces IAM, where unknown keys
// are refused: the error names the credential, masks the key and says what STS answered.
func TestAccCloudCredential_rejectedKey(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	acctest.IsolateAWSEnv(t)
	moto, err := acctest.StartMoto(context.Background(), acctest.MotoOptions{Env: []string{"INITIAL_NO_AUTH_ACTION_COUNT=0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(moto.Stop)
	testAccRun(t, []resource.TestStep{{
		Config:      acctest.ProviderConfig(moto) + acctest.CredentialConfig("aws", "us-west-2", "AKIAUNKNOWNKEY000000", "not-a-real-secret-at-all"),
		ExpectError: regexp.MustCompile(`(?s)Cloud credential "aws" could not be verified.*STS rejected access key AKIA…0000:\s+InvalidClientTokenId`),
	}})
}

func TestAccCloudCredential_profileAndAssumeRole(t *testing.T) {
	moto := acctest.SharedMoto(t)
	cfg := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[profile ops]\naws_access_key_id = %s\naws_secret_access_key = %s\n", rotatedKey, rotatedSecret)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfg)
	testAccRun(t, []resource.TestStep{{
		Config: acctest.ProviderConfig(moto) + `
resource "ec2k8s_cloud_credential" "profile" {
  name    = "profile"
  region  = "us-west-2"
  profile = "ops"
}

resource "ec2k8s_cloud_credential" "role" {
  name   = "role"
  region = "us-west-2"
  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/ops"
    session_name = "ec2k8s-acctest"
    external_id  = "ext-123"
  }
}
`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("ec2k8s_cloud_credential.profile", tfjsonpath.New("account_id"), knownvalue.StringExact(acctest.AccountID)),
			statecheck.ExpectKnownValue("ec2k8s_cloud_credential.role", tfjsonpath.New("arn"),
				knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:sts::123456789012:assumed-role/ops/ec2k8s-acctest$`))),
		},
		ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
	}})
}

func TestAccCloudCredential_invalidConfig(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	cases := map[string]struct{ body, want string }{
		"keys and profile": {`access_key = "AKIAEC2K8SACCTEST000"
  secret_key = "ec2k8s-acctest-secret-not-real"
  profile    = "ops"`, `access_key and profile are set together; give exactly one way of authenticating`},
		"profile and role": {`profile = "ops"
  assume_role {
    role_arn = "arn:aws:iam::123456789012:role/x"
  }`, `assume_role and profile are set together`},
		"key without secret":  {`access_key = "AKIAEC2K8SACCTEST000"`, `access_key is set without secret_key`},
		"secret without key":  {`secret_key = "ec2k8s-acctest-secret-not-real"`, `secret_key is set without access_key`},
		"token without keys":  {`session_token = "token"`, `session_token only goes with access_key and secret_key`},
		"lowercase key":       {`access_key = "akiaec2k8sacctest000"` + "\n" + `secret_key = "ec2k8s-acctest-secret-not-real"`, `not an AWS access key ID`},
		"short secret":        {`access_key = "AKIAEC2K8SACCTEST000"` + "\n" + `secret_key = "short"`, `too short for an AWS secret access key`},
		"bad role ARN":        {"assume_role {\n role_arn = \"arn:aws:iam::123:role/x\"\n }", `is not an IAM role ARN`},
		"bad session name":    {"assume_role {\n role_arn = \"arn:aws:iam::123456789012:role/x\"\n session_name = \"a b\"\n }", `is not a role session name`},
		"role without ARN":    {"assume_role {\n session_name = \"x-y\"\n }", `assume_role needs role_arn`},
		"profile with spaces": {`profile = "my profile"`, `is not a profile name`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			testAccRun(t, []resource.TestStep{planErrorStep(
				"resource \"ec2k8s_cloud_credential\" \"c\" {\n  name = \"c\"\n  region = \"us-west-2\"\n  "+tc.body+"\n}", tc.want)})
		})
	}
}
