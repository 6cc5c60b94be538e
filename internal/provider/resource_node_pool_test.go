package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// clusterConfig is a credential, a template with extra attributes, a cluster, and pools.
func clusterConfig(m *acctest.Moto, templateAttrs, pools string) string {
	return templateConfig(m, acctest.AccessKey, acctest.SecretKey, templateAttrs) + `
resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
  members          = [{ name = "alice", role = "cluster-owner" }]
}
` + pools
}

func poolHCL(name string, quantity int, roles ...string) string {
	r := ""
	for _, role := range roles {
		r += fmt.Sprintf("  %s = true\n", role)
	}
	return fmt.Sprintf(`
resource "ec2k8s_node_pool" %[1]q {
  cluster         = ec2k8s_cluster.demo
  node_template   = ec2k8s_node_template.ubuntu
  name            = %[1]q
  hostname_prefix = "demo-%[1]s-"
  quantity        = %[2]d
%[3]s}
`, name, quantity, r)
}

// liveInstances asks moto for the pool's live instances.
func liveInstances(t *testing.T, m *acctest.Moto, pool string) []types.Instance {
	t.Helper()
	out, err := acctest.EC2(m, "us-west-2").DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:ec2k8s:pool"), Values: []string{pool}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var all []types.Instance
	for _, r := range out.Reservations {
		all = append(all, r.Instances...)
	}
	return all
}

// checkPoolCount is a state check that asks moto how many live instances a pool has.
func checkPoolCount(t *testing.T, m *acctest.Moto, pool string, want int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		if got := len(liveInstances(t, m, pool)); got != want {
			return fmt.Errorf("moto has %d live instances in pool %s; want %d", got, pool, want)
		}
		return nil
	}
}

// checkPoolsGone is a CheckDestroy that asks moto: no live instance and no key pair of the
// cluster remain (the managed security group stays, by design).
func checkPoolsGone(m *acctest.Moto) func(*terraform.State) error {
	return func(*terraform.State) error {
		ctx := context.Background()
		c := acctest.EC2(m, "us-west-2")
		out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("tag:ec2k8s:cluster"), Values: []string{"demo"}},
			{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped", "shutting-down"}},
		}})
		if err != nil {
			return err
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				return fmt.Errorf("instance %s (%s) of cluster demo is still %s", aws.ToString(i.InstanceId), tagValue(i.Tags, "ec2k8s:pool"), i.State.Name)
			}
		}
		kp, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
		if err != nil {
			return err
		}
		if len(kp.KeyPairs) > 0 {
			return fmt.Errorf("key pair %s is left", aws.ToString(kp.KeyPairs[0].KeyName))
		}
		return nil
	}
}

func tagValue(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func TestAccNodePool_smoke(t *testing.T) {
	moto := acctest.SharedMoto(t)
	const pool = "ec2k8s_node_pool.workers"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkPoolsGone(moto),
		Steps: []resource.TestStep{{
			Config: clusterConfig(moto, "", poolHCL("workers", 2, "worker")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(pool, tfjsonpath.New("id"), knownvalue.StringExact("us-west-2/demo/workers")),
				statecheck.ExpectKnownValue(pool, tfjsonpath.New("nodes"), knownvalue.ListSizeExact(2)),
				statecheck.ExpectKnownValue(pool, tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("hostname"), knownvalue.StringExact("demo-workers-1")),
				statecheck.ExpectKnownValue(pool, tfjsonpath.New("nodes").AtSliceIndex(1).AtMapKey("hostname"), knownvalue.StringExact("demo-workers-2")),
				statecheck.ExpectKnownValue(pool, tfjsonpath.New("ssh_private_key"), knownvalue.StringRegexp(regexp.MustCompile(`^-----BEGIN OPENSSH PRIVATE KEY-----`))),
			},
			Check:            checkPoolCount(t, moto, "workers", 2),
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		}},
	})
}
