package provider

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// clusterConfig is a credential, a template with extra attributes, a cluster with a server
// pool of its own (serversHCL), and pools.
func clusterConfig(m *acctest.Moto, templateAttrs, pools string) string {
	return templateConfig(m, acctest.AccessKey, acctest.SecretKey, templateAttrs) + clusterTail(pools)
}

// serversTemplateHCL is a template of the cluster's servers: the tests change the "ubuntu"
// template, and etcd nodes cannot be replaced.
const serversTemplateHCL = `
resource "ec2k8s_node_template" "servers" {
  name             = "servers"
  cloud_credential = ec2k8s_cloud_credential.aws
}
`

// serversHCL is one etcd and control-plane node, for the tests' other pools to join through.
var serversHCL = serversTemplateHCL + poolHCLOf("servers", "servers", 1, "etcd", "control_plane")

func poolHCL(name string, quantity int, roles ...string) string {
	return poolHCLOf(name, "ubuntu", quantity, roles...)
}

// poolHCLOf is a pool of the demo cluster on a template.
func poolHCLOf(name, template string, quantity int, roles ...string) string {
	r := ""
	for _, role := range roles {
		r += fmt.Sprintf("  %s = true\n", role)
	}
	return fmt.Sprintf(`
resource "ec2k8s_node_pool" %[1]q {
  cluster         = ec2k8s_cluster.demo
  node_template   = ec2k8s_node_template.%[4]s
  name            = %[1]q
  hostname_prefix = "demo-%[1]s-"
  quantity        = %[2]d
%[3]s}
`, name, quantity, r, template)
}

// liveInstances asks moto for the pool's live instances.
func liveInstances(t *testing.T, m *acctest.Moto, pool string) []types.Instance {
	t.Helper()
	return acctest.LiveInstances(t, m, "us-west-2", acctest.TagFilter(provisioning.TagPool, pool))
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
		live, err := acctest.FindInstances(m, "us-west-2", acctest.TagFilter(provisioning.TagCluster, "demo"), acctest.StateFilter(acctest.LiveStates...))
		if err != nil {
			return err
		}
		for _, i := range live {
			return fmt.Errorf("instance %s (%s) of cluster demo is still %s", aws.ToString(i.InstanceId), acctest.TagValue(i.Tags, provisioning.TagPool), i.State.Name)
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

// checkNames asks moto for every live instance of cluster demo: each Name tag is its node
// name (hostname prefix and index from the instance's own tags), and no two are the same.
func checkNames(t *testing.T, m *acctest.Moto) resource.TestCheckFunc {
	return func(*terraform.State) error {
		instances, err := acctest.FindInstances(m, "us-west-2", acctest.TagFilter(provisioning.TagCluster, "demo"), acctest.StateFilter("pending", "running"))
		if err != nil {
			return err
		}
		seen := map[string]string{}
		for _, i := range instances {
			base, _ := strconv.Atoi(acctest.TagValue(i.Tags, provisioning.TagIndexBase))
			want := fmt.Sprintf("%s%d", acctest.TagValue(i.Tags, provisioning.TagHostnamePrefix), base+int(aws.ToInt32(i.AmiLaunchIndex)))
			name := acctest.TagValue(i.Tags, provisioning.TagName)
			if name != want {
				return fmt.Errorf("instance %s is named %q; want its node name %q", aws.ToString(i.InstanceId), name, want)
			}
			if other, dup := seen[name]; dup {
				return fmt.Errorf("instances %s and %s are both named %q", other, aws.ToString(i.InstanceId), name)
			}
			seen[name] = aws.ToString(i.InstanceId)
		}
		if len(seen) == 0 {
			return fmt.Errorf("no live instance of cluster demo")
		}
		t.Logf("%d instances, each named after its node", len(seen))
		return nil
	}
}

// poolDef is one pool of a topology under test.
type poolDef struct {
	name     string
	quantity int
	roles    []string
	template string // "ubuntu" when empty
}

func (p poolDef) tmpl() string {
	if p.template == "" {
		return "ubuntu"
	}
	return p.template
}

// topologyHCL is the pools, with the servers' template, and no other server pool.
func topologyHCL(pools []poolDef, delta map[string]int) string {
	out := serversTemplateHCL
	for _, p := range pools {
		out += poolHCLOf(p.name, p.tmpl(), p.quantity+delta[p.name], p.roles...)
	}
	return out
}

func nodePoolAddr(name string) string { return "ec2k8s_node_pool." + name }

// testPoolLifecycle runs the whole life of a cluster's pools against moto: create, second plan
// empty, scale up, scale down, rolling template change, out-of-band termination repaired,
// credential rotation replacing nothing, import, destroy with nothing left.
func testPoolLifecycle(t *testing.T, pools []poolDef) {
	moto := acctest.SharedMoto(t)
	first := pools[0]
	up := map[string]int{first.name: 1}
	down := map[string]int{first.name: -1}
	counts := func(delta map[string]int) resource.TestCheckFunc {
		var checks []resource.TestCheckFunc
		for _, p := range pools {
			checks = append(checks, checkPoolCount(t, moto, p.name, p.quantity+delta[p.name]))
		}
		return resource.ComposeAggregateTestCheckFunc(checks...)
	}
	hostnames := func(p poolDef, first int) []statecheck.StateCheck {
		var out []statecheck.StateCheck
		for i := range p.quantity {
			out = append(out, statecheck.ExpectKnownValue(nodePoolAddr(p.name), tfjsonpath.New("nodes").AtSliceIndex(i).AtMapKey("hostname"),
				knownvalue.StringExact(fmt.Sprintf("demo-%s-%d", p.name, first+i))))
		}
		return out
	}
	var created []statecheck.StateCheck
	for _, p := range pools {
		created = append(created, hostnames(p, 1)...)
		created = append(created,
			statecheck.ExpectKnownValue(nodePoolAddr(p.name), tfjsonpath.New("nodes"), knownvalue.ListSizeExact(p.quantity)),
			// No ssh_public_key in the template: no key pair, no private key anywhere.
			statecheck.ExpectKnownValue(nodePoolAddr(p.name), tfjsonpath.New("key_pair_name"), knownvalue.Null()),
			statecheck.ExpectKnownValue(nodePoolAddr(p.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("state"), knownvalue.StringExact("running")))
	}
	// Instance IDs must survive a rename and a credential rotation untouched.
	renamed := statecheck.CompareValue(compare.ValuesSame())
	sameIDs := statecheck.CompareValue(compare.ValuesSame())
	// and must all change on a rolling replacement.
	replaced := statecheck.CompareValue(compare.ValuesDiffer())
	allPools := func(action plancheck.ResourceActionType) []plancheck.PlanCheck {
		var out []plancheck.PlanCheck
		for _, p := range pools {
			out = append(out, plancheck.ExpectResourceAction(nodePoolAddr(p.name), action))
		}
		return out
	}
	// The pools on the "ubuntu" template, which the test changes.
	ubuntuPools := func(action plancheck.ResourceActionType) []plancheck.PlanCheck {
		var out []plancheck.PlanCheck
		for _, p := range pools {
			if p.tmpl() == "ubuntu" {
				out = append(out, plancheck.ExpectResourceAction(nodePoolAddr(p.name), action))
			}
		}
		return out
	}
	empty := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	base := topologyHCL(pools, nil)
	testAccRunPools(t, moto, []resource.TestStep{
		{
			Config: topologyConfig(moto, "", base),
			ConfigStateChecks: append(created, replaced.AddStateValue(nodePoolAddr(first.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id")),
				renamed.AddStateValue(nodePoolAddr(first.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id"))),
			Check:            resource.ComposeAggregateTestCheckFunc(counts(nil), checkNames(t, moto)),
			ConfigPlanChecks: empty,
		},
		{
			// A Name changed in the console is set back; that replaces nothing.
			PreConfig: func() {
				victim := liveInstances(t, moto, first.name)[0].InstanceId
				if _, err := acctest.EC2(moto, "us-west-2").CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{aws.ToString(victim)},
					Tags: []types.Tag{{Key: aws.String(provisioning.TagName), Value: aws.String("renamed-in-console")}}}); err != nil {
					t.Fatal(err)
				}
			},
			Config: topologyConfig(moto, "", base),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(nodePoolAddr(first.name), plancheck.ResourceActionUpdate),
					// Set back by the apply, unless the renaming fails (a warning): unknown until then.
					plancheck.ExpectUnknownValue(nodePoolAddr(first.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("name")),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				renamed.AddStateValue(nodePoolAddr(first.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id")),
			},
			Check: resource.ComposeAggregateTestCheckFunc(counts(nil), checkNames(t, moto)),
		},
		{
			// Scale the first pool up: one more node, the next name, the others untouched.
			Config: topologyConfig(moto, "", topologyHCL(pools, up)),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(nodePoolAddr(first.name), plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(nodePoolAddr(first.name), tfjsonpath.New("nodes").AtSliceIndex(first.quantity).AtMapKey("hostname"),
					knownvalue.StringExact(fmt.Sprintf("demo-%s-%d", first.name, first.quantity+1))),
			},
			Check: counts(up),
		},
		{
			// Scale it down below the start: the newest nodes go, the first stays.
			Config:            topologyConfig(moto, "", topologyHCL(pools, down)),
			ConfigPlanChecks:  empty,
			ConfigStateChecks: scaledDown(first),
			Check:             counts(down),
		},
		{
			// A template change replaces every node, one at a time, with new names.
			Config: topologyConfig(moto, "root_size = 40", base),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             ubuntuPools(plancheck.ResourceActionUpdate),
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				replaced.AddStateValue(nodePoolAddr(first.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id")),
			},
			Check: counts(nil),
		},
		{
			// A node terminated behind Terraform's back is drift; the apply replaces it.
			PreConfig: func() {
				victim := liveInstances(t, moto, first.name)[0].InstanceId
				if _, err := acctest.EC2(moto, "us-west-2").TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(victim)}}); err != nil {
					t.Fatal(err)
				}
			},
			Config: topologyConfig(moto, "root_size = 40", base),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(nodePoolAddr(first.name), plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				sameIDs.AddStateValue(nodePoolAddr(first.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id")),
			},
			Check: counts(nil),
		},
		{
			// Rotating the credential's keys: pools are updated in place, no node replaced.
			Config: templateConfig(moto, rotatedKey, rotatedSecret, "root_size = 40") + clusterOnlyTail(base),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: append(allPools(plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(nodePoolAddr(first.name), tfjsonpath.New("nodes"), knownvalue.ListSizeExact(first.quantity))),
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				sameIDs.AddStateValue(nodePoolAddr(first.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id")),
			},
			Check: counts(nil),
		},
		// Import with an import block: the pool is read back from its instances' tags and
		// updated in place to record cluster and node_template; its spec and nodes stay as
		// they are, so no node is replaced.
		importBlockStep(nodePoolAddr(first.name), "us-west-2/demo/"+first.name,
			plancheck.ExpectKnownValue(nodePoolAddr(first.name), tfjsonpath.New("spec"), knownvalue.NotNull()),
			plancheck.ExpectKnownValue(nodePoolAddr(first.name), tfjsonpath.New("nodes"), knownvalue.ListSizeExact(first.quantity))),
		{
			// What an import block's plan cannot show: the pool read back from EC2 is the
			// state it had, attribute by attribute, but for the received objects, which
			// Terraform cannot read back.
			ResourceName:            nodePoolAddr(first.name),
			ImportState:             true,
			ImportStateId:           "us-west-2/demo/" + first.name,
			ImportStateVerify:       true,
			ImportStateVerifyIgnore: []string{"cluster", "node_template", "timeouts"},
		},
	})
}

// scaledDown checks a pool scaled down by one: the first node stays while any does.
func scaledDown(p poolDef) []statecheck.StateCheck {
	out := []statecheck.StateCheck{statecheck.ExpectKnownValue(nodePoolAddr(p.name), tfjsonpath.New("nodes"), knownvalue.ListSizeExact(p.quantity-1))}
	if p.quantity > 1 {
		out = append(out, statecheck.ExpectKnownValue(nodePoolAddr(p.name), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("hostname"),
			knownvalue.StringExact("demo-"+p.name+"-1")))
	}
	return out
}

// clusterTail is the cluster and pools of clusterConfig, for configs that build the credential
// and template themselves.
func clusterTail(pools string) string {
	return clusterOnlyTail(serversHCL + pools)
}

// clusterOnlyTail is the cluster and pools, without the servers of serversHCL.
func clusterOnlyTail(pools string) string {
	return `
resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
  members          = [{ name = "alice", role = "cluster-owner" }]
}
` + pools
}

// topologyConfig is clusterConfig for a topology that brings its own servers.
func topologyConfig(m *acctest.Moto, templateAttrs, pools string) string {
	return templateConfig(m, acctest.AccessKey, acctest.SecretKey, templateAttrs) + clusterOnlyTail(pools)
}

// TestAccNodePool_recommendedTopology is the seed's production topology, 9 nodes.
func TestAccNodePool_recommendedTopology(t *testing.T) {
	testPoolLifecycle(t, []poolDef{
		{"workers", 4, []string{"worker"}, ""},
		{"etcd", 3, []string{"etcd"}, "servers"},
		{"cp", 2, []string{"control_plane"}, ""},
	})
}

// TestAccNodePool_allRoles is the seed's smallest cluster, one node with every role, grown to
// three. Adding etcd nodes is fine; removing or replacing one is refused at plan, since its
// etcd member would stay behind; a node terminated behind Terraform's back is added again.
func TestAccNodePool_allRoles(t *testing.T) {
	moto := acctest.SharedMoto(t)
	all := func(n int) string { return poolHCL("all", n, "etcd", "control_plane", "worker") }
	empty := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	refused := acctest.ErrorRe("etcd members would be left behind")
	testAccRunPools(t, moto, []resource.TestStep{
		{Config: topologyConfig(moto, "", all(1)), ConfigPlanChecks: empty, Check: resource.ComposeAggregateTestCheckFunc(checkPoolCount(t, moto, "all", 1), checkNames(t, moto))},
		{Config: topologyConfig(moto, "", all(3)), ConfigPlanChecks: empty, Check: checkPoolCount(t, moto, "all", 3)},
		{Config: topologyConfig(moto, "", all(2)), PlanOnly: true, ExpectError: refused},
		{Config: topologyConfig(moto, "root_size = 40", all(3)), PlanOnly: true, ExpectError: refused},
		{
			PreConfig: func() {
				victim := liveInstances(t, moto, "all")[2].InstanceId
				if _, err := acctest.EC2(moto, "us-west-2").TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(victim)}}); err != nil {
					t.Fatal(err)
				}
			},
			Config:           topologyConfig(moto, "", all(3)),
			ConfigPlanChecks: empty,
			Check:            resource.ComposeAggregateTestCheckFunc(checkPoolCount(t, moto, "all", 3), checkNames(t, moto)),
		},
	})
}

func TestAccNodePool_planErrors(t *testing.T) {
	moto := acctest.SharedMoto(t)
	for name, tc := range map[string]struct{ pool, want string }{
		"no role":        {poolHCL("none", 1), `Set at least one of etcd, control_plane and worker to true`},
		"negative count": {poolHCL("workers", -1, "worker"), `-1 is not a node count`},
		"huge count":     {poolHCL("workers", 5000, "worker"), `5000 is not a node count`},
		"bad name":       {strings.Replace(poolHCL("workers", 1, "worker"), `name            = "workers"`, `name = "Workers!"`, 1), `"Workers!" is not a hostname prefix`},
		"bad prefix":     {strings.Replace(poolHCL("workers", 1, "worker"), `"demo-workers-"`, `"demo.workers"`, 1), `"demo.workers" is not a hostname prefix`},
	} {
		t.Run(name, func(t *testing.T) {
			testAccRun(t, []resource.TestStep{planErrorStep(clusterConfig(moto, "", tc.pool), tc.want)})
		})
	}
	// The template's engine settings must have an effect on the pool's nodes: the docker daemon's
	// settings need k3s with the docker runtime (the demo cluster runs rke2), and containerd cannot
	// express an insecure registry given as a CIDR block.
	workers := poolHCL("workers", 1, "worker")
	for name, tc := range map[string]struct{ template, want string }{
		"docker settings on rke2": {`engine_storage_driver = "overlay2"
  engine_labels         = { tier = "gold" }`, `engine_labels, engine_storage_driver configure the docker daemon, which this cluster does not run (rke2 with containerd)`},
		"docker installer on rke2": {`engine_install_url = "https://releases.rancher.com/install-docker/20.10.sh"`, `engine_install_url configure the docker daemon`},
		"CIDR insecure registry":   {`engine_insecure_registries = ["10.0.0.0/8"]`, `"10.0.0.0/8" is a CIDR block, which containerd's registries.yaml cannot express`},
	} {
		t.Run(name, func(t *testing.T) {
			testAccRun(t, []resource.TestStep{planErrorStep(clusterConfig(moto, tc.template, workers), tc.want)})
		})
	}
}

// TestParsePoolID: a pool ID is "<region>/<cluster>/<pool>", each part given; poolID writes
// what parsePoolID reads.
func TestParsePoolID(t *testing.T) {
	for _, tc := range []struct {
		id                    string
		region, cluster, pool string
		ok                    bool
	}{
		{"us-west-2/demo/etcd", "us-west-2", "demo", "etcd", true},
		{"us-west-2/demo", "", "", "", false},
		{"us-west-2/demo/etcd/x", "", "", "", false},
		{"us-west-2//etcd", "", "", "", false},
		{"/demo/etcd", "", "", "", false},
		{"", "", "", "", false},
	} {
		t.Run(tc.id, func(t *testing.T) {
			region, cluster, pool, err := parsePoolID(tc.id)
			if (err == nil) != tc.ok || region != tc.region || cluster != tc.cluster || pool != tc.pool {
				t.Errorf("parsePoolID(%q) = %q, %q, %q, %v; want %q, %q, %q, ok %v", tc.id, region, cluster, pool, err, tc.region, tc.cluster, tc.pool, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "expected <region>/<cluster>/<pool>") {
				t.Errorf("the error does not say what a pool ID is: %v", err)
			}
			if tc.ok && poolID(region, cluster, pool) != tc.id {
				t.Errorf("poolID(%q, %q, %q) = %q; want %q", region, cluster, pool, poolID(region, cluster, pool), tc.id)
			}
		})
	}
}

func TestValidQuantity(t *testing.T) {
	for n, ok := range map[int64]bool{-1: false, 0: true, 3: true, maxPoolQuantity: true, maxPoolQuantity + 1: false} {
		if err := validQuantity(n); (err == nil) != ok {
			t.Errorf("validQuantity(%d) = %v; want ok %v", n, err, ok)
		}
	}
}
