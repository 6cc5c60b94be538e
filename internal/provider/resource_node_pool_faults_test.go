package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// TestAccNodePool_faults runs create, scale and destroy through Terraform with 20% of the EC2
// requests failing on the way (throttling, 500, 503, cut connections before or after moto).
func TestAccNodePool_faults(t *testing.T) {
	moto := acctest.SharedMoto(t)
	proxy := acctest.NewFaultProxy(t, moto, 0.2, 42)
	provider := fmt.Sprintf(`
provider "ec2k8s" {
  max_retries = 10
  endpoints {
    ec2 = %q
    sts = %q
  }
}
`, proxy.URL, moto.URL)
	config := func(n int) string {
		return provider + acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}
` + clusterTail(poolHCL("workers", n, "worker"))
	}
	testAccRunPools(t, moto, []resource.TestStep{
		{
			Config:            config(3),
			ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(nodePoolAddr("workers"), tfjsonpath.New("nodes"), knownvalue.ListSizeExact(3))},
			Check:             checkPoolCount(t, moto, "workers", 3),
			ConfigPlanChecks:  resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
		{
			Config:           config(5),
			Check:            checkPoolCount(t, moto, "workers", 5),
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		},
	})
	if n := len(proxy.Injected()); n < 3 {
		t.Errorf("only %d kinds of fault were injected: %v", n, proxy.Injected())
	}
	t.Logf("faults injected: %v", proxy.Injected())
}
