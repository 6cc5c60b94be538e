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

const clusterRes = "ec2k8s_cluster.demo"

func clusterOnly(m *acctest.Moto, attrs string) string {
	return acctest.ProviderConfig(m) + acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
` + attrs + `
}
`
}

func TestAccCluster_lifecycle(t *testing.T) {
	moto := acctest.SharedMoto(t)
	known := func(attr, want string) statecheck.StateCheck {
		return statecheck.ExpectKnownValue(clusterRes, tfjsonpath.New(attr), knownvalue.StringExact(want))
	}
	empty := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             acctest.CheckNothingCreated(moto, "us-west-2"),
		Steps: []resource.TestStep{
			{
				Config: clusterOnly(moto, `members = [{ name = "alice", role = "cluster-owner" }]`),
				ConfigStateChecks: []statecheck.StateCheck{
					known("id", "demo"), known("distribution", "rke2"), known("kubernetes_version", "v1.33.5+rke2r1"),
					known("network_plugin", "canal"), known("cloud_provider", "none"), known("state", "provisioning"),
					statecheck.ExpectKnownValue(clusterRes, tfjsonpath.New("members").AtSliceIndex(0).AtMapKey("role"), knownvalue.StringExact("cluster-owner")),
				},
				ConfigPlanChecks: empty,
			},
			{
				// Pinning the version the default gave is no change; a patch upgrade is an update.
				Config: clusterOnly(moto, `kubernetes_version = "v1.33.6+rke2r1"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(clusterRes, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{known("kubernetes_version", "v1.33.6+rke2r1")},
			},
			{
				Config:      clusterOnly(moto, `kubernetes_version = "v1.32.1+rke2r1"`),
				ExpectError: acctest.ErrorRe(`v1.33.6+rke2r1 to v1.32.1+rke2r1 is a downgrade`),
			},
			{
				Config:      clusterOnly(moto, "kubernetes_version = \"v1.33.6+rke2r1\"\nnetwork_plugin = \"cilium\""),
				ExpectError: acctest.ErrorRe(`the network plugin cannot change after the first boot`),
			},
			{
				Config:      clusterOnly(moto, "distribution = \"k3s\"\nkubernetes_version = \"v1.33.5+k3s1\"\nnetwork_plugin = \"canal\""),
				ExpectError: acctest.ErrorRe(`k3s runs flannel or none, not canal: canal ships with rke2, so use distribution = "rke2"`),
			},
			{
				Config:      clusterOnly(moto, "distribution = \"k3s\"\nkubernetes_version = \"v1.33.5+k3s1\"\nnetwork_plugin = \"flannel\""),
				ExpectError: acctest.ErrorRe(`a running cluster cannot move to k3s`),
			},
			{
				ResourceName:      clusterRes,
				ImportState:       true,
				ImportStateId:     "demo",
				ImportStateVerify: true,
				// Settings live only in the configuration and the state.
				ImportStateVerifyIgnore: []string{"cloud_credential", "distribution", "kubernetes_version", "network_plugin",
					"enable_network_policy", "cloud_provider", "members", "state"},
			},
		},
	})
}

func TestAccCluster_planErrors(t *testing.T) {
	moto := acctest.SharedMoto(t)
	for name, tc := range map[string]struct{ attrs, want string }{
		"name":              {"", ""},
		"version shape":     {`kubernetes_version = "1.31"`, `"1.31" is not a rke2 version`},
		"k3s version":       {`kubernetes_version = "v1.31.4+k3s1"`, `is not a rke2 version`},
		"old version":       {`kubernetes_version = "v1.20.4+rke2r1"`, `Kubernetes 1.20 is not supported`},
		"policy on flannel": {"network_plugin = \"flannel\"\nenable_network_policy = true", `does not enforce NetworkPolicy`},
		"member role":       {`members = [{ name = "bob", role = "admin" }]`, `"admin" is not a supported member role`},
		"member twice":      {`members = [{ name = "bob", role = "read-only" }, { name = "bob", role = "cluster-owner" }]`, `"bob" is listed twice`},
		"cloud provider":    {`cloud_provider = "gce"`, `"gce" is not a supported cloud provider`},
	} {
		if tc.want == "" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { acctest.PreCheck(t) },
				ProtoV6ProviderFactories: testAccProviders,
				Steps: []resource.TestStep{{
					Config: clusterOnly(moto, tc.attrs), PlanOnly: true, ExpectError: acctest.ErrorRe(tc.want),
				}},
			})
		})
	}
	t.Run("cluster name", func(t *testing.T) {
		resource.Test(t, resource.TestCase{
			PreCheck:                 func() { acctest.PreCheck(t) },
			ProtoV6ProviderFactories: testAccProviders,
			Steps: []resource.TestStep{{
				Config: acctest.ProviderConfig(moto) + acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) +
					`resource "ec2k8s_cluster" "bad" {
  name             = "Demo_Cluster"
  cloud_credential = ec2k8s_cloud_credential.aws
}`,
				PlanOnly: true, ExpectError: acctest.ErrorRe(`"Demo_Cluster" is not a cluster name`),
			}},
		})
	})
}
