package provider

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// syncConfig is the demo cluster (with clusterAttrs), its servers and two workers, and a sync
// of all of it with syncAttrs.
func syncConfig(m *acctest.Moto, clusterAttrs, syncAttrs string) string {
	return templateConfig(m, acctest.AccessKey, acctest.SecretKey, "") + `
resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
  members          = [{ name = "alice", role = "cluster-owner" }, { name = "bob", role = "read-only" }]
` + clusterAttrs + `
}
` + serversHCL + poolHCL("workers", 2, "worker") + `
resource "ec2k8s_cluster_sync" "demo" {
  cluster    = ec2k8s_cluster.demo
  node_pools = [ec2k8s_node_pool.servers, ec2k8s_node_pool.workers]
` + syncAttrs + `
}
`
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestAccClusterSync_apiUnreachable: a sync whose API never answers fails at its timeout with an
// error that says which check is missing and where it looked; the pools are made regardless.
func TestAccClusterSync_apiUnreachable(t *testing.T) {
	moto := acctest.SharedMoto(t)
	url := fmt.Sprintf("https://127.0.0.1:%d", closedPort(t))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkPoolsGone(moto),
		Steps: []resource.TestStep{{
			Config: syncConfig(moto, fmt.Sprintf("  api_server_url = %q\n", url), `
  timeouts {
    create = "3s"
  }
`),
			ExpectError: regexp.MustCompile(`(?s)did not become Active.*` + regexp.QuoteMeta(url) + `.*does not answer /readyz`),
		}},
	})
}

// TestAccClusterSync_apiURLFromFirstControlPlaneNode: with neither api_server_url nor
// registration_address, the sync's URL is the first control-plane node's public address on 6443.
// The step only plans (applying would dial the emulator's made-up address).
func TestAccClusterSync_apiURLFromFirstControlPlaneNode(t *testing.T) {
	moto := acctest.SharedMoto(t)
	withSync := syncConfig(moto, "", "")
	withoutSync := withSync[:strings.Index(withSync, `resource "ec2k8s_cluster_sync"`)]
	var first string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkPoolsGone(moto),
		Steps: []resource.TestStep{{
			Config: withoutSync,
			Check: func(s *terraform.State) error {
				first = s.RootModule().Resources["ec2k8s_node_pool.servers"].Primary.Attributes["nodes.0.public_ip"]
				if net.ParseIP(first) == nil {
					return fmt.Errorf("the first server has no public address: %q", first)
				}
				return nil
			},
		}, {
			Config:             withSync,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPreRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ec2k8s_cluster_sync.demo", plancheck.ResourceActionCreate),
				plancheck.ExpectKnownValue("ec2k8s_cluster_sync.demo", tfjsonpath.New("api_server_url"),
					knownvalue.StringFunc(func(v string) error {
						if want := "https://" + first + ":6443"; v != want {
							return fmt.Errorf("api_server_url %q, want %q", v, want)
						}
						return nil
					})),
			}},
		}},
	})
}
