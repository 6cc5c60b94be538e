package provider

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

func TestMain(m *testing.M) {
	os.Exit(acctest.Main(m))
}

// testAccProviders serves the provider in-process to the CLI under test.
var testAccProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"ec2k8s": providerserver.NewProtocol6WithError(New("test")()),
}

// testAccRun runs steps against the provider under test, served in-process, once
// acctest.PreCheck has passed.
func testAccRun(t *testing.T, steps []resource.TestStep) {
	t.Helper()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		Steps:                    steps,
	})
}

// testAccRunPools is testAccRun for pools on moto: after the test, no live instance and no key
// pair of the cluster may remain (checkPoolsGone).
func testAccRunPools(t *testing.T, moto *acctest.Moto, steps []resource.TestStep) {
	t.Helper()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkPoolsGone(moto),
		Steps:                    steps,
	})
}

// planErrorStep plans config and expects it to fail with an error that says want
// (acctest.ErrorRe): what a configuration alone shows wrong is caught before any apply.
func planErrorStep(config, want string) resource.TestStep {
	return resource.TestStep{Config: config, PlanOnly: true, ExpectError: acctest.ErrorRe(want)}
}

// importBlockStep imports addr by id with an import block (what a user writes, and what works
// with Terraform 1.5 and OpenTofu alike) and checks the plan it makes: an update in place, since
// the configuration sets what an import cannot read back, and checks. The step uses the
// previous step's configuration unless it is given one.
func importBlockStep(addr, id string, checks ...plancheck.PlanCheck) resource.TestStep {
	return resource.TestStep{
		ResourceName:       addr,
		ImportState:        true,
		ImportStateKind:    resource.ImportBlockWithID,
		ImportStateId:      id,
		ExpectNonEmptyPlan: true,
		ImportPlanChecks: resource.ImportPlanChecks{PreApply: append([]plancheck.PlanCheck{
			plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)}, checks...)},
	}
}

// importBlockApplyStep is the user's import: config plus an import block that imports addr by
// id, applied. The apply updates addr in place, since the configuration sets what an import
// cannot read back, and leaves nothing to change; checks run on the state it leaves.
func importBlockApplyStep(config, addr, id string, checks ...statecheck.StateCheck) resource.TestStep {
	return resource.TestStep{
		Config: config + fmt.Sprintf("\nimport {\n  to = %s\n  id = %q\n}\n", addr, id),
		ConfigPlanChecks: resource.ConfigPlanChecks{
			PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
			PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		},
		ConfigStateChecks: checks,
	}
}

// TestAccProvider_smoke proves the whole chain: the CLI under test drives the provider, which
// reaches moto through the endpoints configured in HCL.
func TestAccProvider_smoke(t *testing.T) {
	moto := acctest.SharedMoto(t)
	resource.Test(t, resource.TestCase{
		PreCheck: func() {
			acctest.PreCheck(t)
			t.Logf("CLI under test: %s", acctest.CLI(t))
		},
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(moto) + `
data "ec2k8s_caller_identity" "current" {}

data "ec2k8s_iam_policy" "provisioner" {
  region     = "us-west-2"
  account_id = data.ec2k8s_caller_identity.current.account_id
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ec2k8s_caller_identity.current", tfjsonpath.New("account_id"), knownvalue.StringExact(acctest.AccountID)),
				statecheck.ExpectKnownValue("data.ec2k8s_caller_identity.current", tfjsonpath.New("arn"), knownvalue.StringRegexp(regexp.MustCompile(`^arn:aws:(sts|iam)::123456789012:`))),
				statecheck.ExpectKnownValue("data.ec2k8s_caller_identity.current", tfjsonpath.New("user_id"), knownvalue.NotNull()),
				statecheck.ExpectKnownValue("data.ec2k8s_iam_policy.provisioner", tfjsonpath.New("json"),
					knownvalue.StringRegexp(regexp.MustCompile(`arn:aws:ec2:us-west-2:123456789012:instance/\*`))),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		}},
	})
}

// TestAccProvider_endpointFromEnvironment shows the SDK's AWS_ENDPOINT_URL is honoured when the
// provider block sets no endpoint.
func TestAccProvider_endpointFromEnvironment(t *testing.T) {
	moto := acctest.SharedMoto(t)
	t.Setenv("AWS_ENDPOINT_URL", moto.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", "")
	testAccRun(t, []resource.TestStep{{
		Config: `
provider "ec2k8s" {}

data "ec2k8s_caller_identity" "current" {}
`,
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("data.ec2k8s_caller_identity.current", tfjsonpath.New("account_id"), knownvalue.StringExact(acctest.AccountID)),
		},
	}})
}

// TestAccProvider_endpointSettingWins shows a provider endpoint beats the environment: the
// environment points at a closed port, and the read still succeeds through moto.
func TestAccProvider_endpointSettingWins(t *testing.T) {
	moto := acctest.SharedMoto(t) // AWS_ENDPOINT_URL* now point at a closed loopback port
	testAccRun(t, []resource.TestStep{
		{
			Config: acctest.ProviderConfig(moto) + `data "ec2k8s_caller_identity" "current" {}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.ec2k8s_caller_identity.current", tfjsonpath.New("account_id"), knownvalue.StringExact(acctest.AccountID)),
			},
		},
		{
			// Without the endpoint the same read goes to the closed port and fails.
			Config: `
provider "ec2k8s" {
  max_retries = 0
}

data "ec2k8s_caller_identity" "current" {}
`,
			ExpectError: regexp.MustCompile(`STS GetCallerIdentity failed`),
		},
	})
}

func TestAccProvider_invalidConfig(t *testing.T) {
	acctest.IsolateAWSEnv(t)
	for name, tc := range map[string]struct{ config, want string }{
		"endpoint without scheme": {`provider "ec2k8s" {
  endpoints {
    ec2 = "127.0.0.1:5000"
  }
}`, `endpoints.ec2: "127.0.0.1:5000" is not an endpoint URL`},
		"retries out of range": {`provider "ec2k8s" {
  max_retries = 500
}`, `max_retries is 500; give a number from 0 to 100`},
		"unknown attribute": {`provider "ec2k8s" {
  region = "us-west-2"
}`, `An argument named "region" is not expected here`},
	} {
		t.Run(name, func(t *testing.T) {
			testAccRun(t, []resource.TestStep{planErrorStep(tc.config+"\n"+`data "ec2k8s_iam_policy" "p" {
  region     = "us-west-2"
  account_id = "123456789012"
}`, tc.want)})
		})
	}
}

// TestNoEscape: in this test binary (acctest.Main), a request to anywhere but loopback goes to
// the closed loopback proxy, so nothing leaves the machine; loopback is reached directly.
func TestNoEscape(t *testing.T) {
	for _, tc := range []struct {
		url     string
		proxied bool
	}{
		{"https://ec2.us-west-2.amazonaws.com/", true},
		{"https://10.0.12.34:6443/version", true}, // an address moto hands out
		{"https://registry.terraform.io/.well-known/terraform.json", true},
		{"http://127.0.0.1:5000/", false},
		{"http://localhost:5000/", false},
	} {
		req, err := http.NewRequest(http.MethodGet, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		proxy, err := http.ProxyFromEnvironment(req)
		switch {
		case err != nil:
			t.Errorf("%s: %v", tc.url, err)
		case tc.proxied && (proxy == nil || proxy.Host != "127.0.0.1:9"):
			t.Errorf("%s goes through proxy %v; want the closed loopback port 127.0.0.1:9", tc.url, proxy)
		case !tc.proxied && proxy != nil:
			t.Errorf("%s goes through proxy %v; want it reached directly", tc.url, proxy)
		}
	}
}
