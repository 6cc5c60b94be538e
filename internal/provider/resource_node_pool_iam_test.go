package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// iamClusterConfig is a cluster with one worker pool, all made with the given keys, plus the
// policy data source the keys' user was given.
func iamClusterConfig(m *acctest.Moto, key, secret string, workers int) string {
	return templateConfig(m, key, secret, "") + clusterTail(poolHCL("workers", workers, "worker")) + `
data "ec2k8s_iam_policy" "provisioner" {
  region     = "us-west-2"
  account_id = ec2k8s_cloud_credential.aws.account_id
}
`
}

// TestAccNodePool_underEmittedPolicy runs a cluster's life through Terraform as an IAM user that
// holds only what data.ec2k8s_iam_policy emits (Resources widened to "*", as moto checks EC2
// actions against "*"), on a moto that enforces IAM.
func TestAccNodePool_underEmittedPolicy(t *testing.T) {
	m := acctest.StartIAMMoto(t)
	key, secret := m.UserWithPolicy(t, "provisioner", acctest.ProvisioningPolicy(t))
	fill := map[string]string{"REGION": "us-west-2", "AWS_ACCOUNT_ID": acctest.AccountID}
	testAccRun(t, []resource.TestStep{
		{
			Config: iamClusterConfig(m.Moto, key, secret, 2),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(nodePoolAddr("workers"), tfjsonpath.New("nodes"), knownvalue.ListSizeExact(2)),
				// The user holds what the data source prints: the seed's basic policy.
				statecheck.ExpectKnownValue("data.ec2k8s_iam_policy.provisioner", tfjsonpath.New("json"),
					acctest.PolicyEquivalentTo(t, acctest.SeedPolicy(t, "basic.json", fill))),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		{
			Config:           iamClusterConfig(m.Moto, key, secret, 3),
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		{
			Config:           iamClusterConfig(m.Moto, key, secret, 1),
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	})
}

// TestAccNodePool_missingPermission: without ec2:RunInstances, the apply fails and says so.
func TestAccNodePool_missingPermission(t *testing.T) {
	m := acctest.StartIAMMoto(t)
	key, secret := m.UserWithPolicy(t, "no-run", acctest.ProvisioningPolicy(t, "ec2:RunInstances"))
	testAccRun(t, []resource.TestStep{{
		Config:      iamClusterConfig(m.Moto, key, secret, 2),
		ExpectError: acctest.ErrorRe("is not authorized to perform: ec2:RunInstances"),
	}})
}
