package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
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

// proxiedConfig is a credential, a template, the demo cluster and pools, with EC2
// reached through endpoint (a fault proxy) and STS directly.
func proxiedConfig(m *acctest.Moto, endpoint, pools string) string {
	return fmt.Sprintf(`
provider "ec2k8s" {
  max_retries = 3
  endpoints {
    ec2 = %q
    sts = %q
  }
}
`, endpoint, m.URL) + acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}
` + clusterTail(pools)
}

// keyPair returns the public key moto holds for a key pair, or "" when there is none.
func keyPair(t *testing.T, m *acctest.Moto, name string) string {
	t.Helper()
	out, err := acctest.EC2(m, "us-west-2").DescribeKeyPairs(context.Background(), &ec2.DescribeKeyPairsInput{
		Filters: []types.Filter{{Name: aws.String("key-name"), Values: []string{name}}}, IncludePublicKey: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.KeyPairs) == 0 {
		return ""
	}
	return aws.ToString(out.KeyPairs[0].PublicKey)
}

// keyBody is an authorized key without its comment.
func keyBody(k string) string {
	f := strings.Fields(k)
	return strings.Join(f[:min(2, len(f))], " ")
}

// checkKey is a check that the pool's key pair holds key ("" for no key pair).
func checkKey(t *testing.T, m *acctest.Moto, key string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got := keyPair(t, m, "ec2k8s-demo-workers")
		if key == "" && got != "" {
			return fmt.Errorf("key pair ec2k8s-demo-workers exists; want none")
		}
		if key != "" && keyBody(got) != keyBody(key) {
			return fmt.Errorf("key pair ec2k8s-demo-workers holds %q; want %q", got, key)
		}
		return nil
	}
}

// TestAccNodePool_sshKey: no key pair without a public key; adding, changing and removing the
// template's key updates the pool in place and replaces no node; new nodes get the key.
func TestAccNodePool_sshKey(t *testing.T) {
	moto := acctest.SharedMoto(t)
	keyA, keyB := acctest.PublicKey(10, "alice@example.com"), acctest.PublicKey(11, "bob@example.com")
	withKey := func(k string) string { return fmt.Sprintf("ssh_public_key = %q", k) }
	sameIDs := statecheck.CompareValue(compare.ValuesSame())
	firstID := func() statecheck.StateCheck {
		return sameIDs.AddStateValue(nodePoolAddr("workers"), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id"))
	}
	update := func(extra ...plancheck.PlanCheck) resource.ConfigPlanChecks {
		return resource.ConfigPlanChecks{
			PreApply: append([]plancheck.PlanCheck{plancheck.ExpectResourceAction(nodePoolAddr("workers"), plancheck.ResourceActionUpdate),
				plancheck.ExpectKnownValue(nodePoolAddr("workers"), tfjsonpath.New("nodes"), knownvalue.ListSizeExact(2))}, extra...),
			PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		}
	}
	launchedWith := func(name string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			for _, i := range liveInstances(t, moto, "workers") {
				if acctest.TagValue(i.Tags, provisioning.TagName) == "demo-workers-3" && aws.ToString(i.KeyName) != name {
					return fmt.Errorf("the new node was launched with key pair %q; want %q", aws.ToString(i.KeyName), name)
				}
			}
			return nil
		}
	}
	testAccRunPools(t, moto, []resource.TestStep{
		{
			Config: clusterConfig(moto, "", poolHCL("workers", 2, "worker")),
			ConfigStateChecks: []statecheck.StateCheck{firstID(),
				statecheck.ExpectKnownValue(nodePoolAddr("workers"), tfjsonpath.New("key_pair_name"), knownvalue.Null())},
			Check: checkKey(t, moto, ""),
		},
		{
			Config:            clusterConfig(moto, withKey(keyA), poolHCL("workers", 2, "worker")),
			ConfigPlanChecks:  update(plancheck.ExpectKnownValue(nodePoolAddr("workers"), tfjsonpath.New("key_pair_name"), knownvalue.StringExact("ec2k8s-demo-workers"))),
			ConfigStateChecks: []statecheck.StateCheck{firstID()},
			Check:             checkKey(t, moto, keyA),
		},
		{
			Config:            clusterConfig(moto, withKey(keyB), poolHCL("workers", 2, "worker")),
			ConfigPlanChecks:  update(),
			ConfigStateChecks: []statecheck.StateCheck{firstID()},
			Check:             checkKey(t, moto, keyB),
		},
		{
			// A new node gets the key pair; the old ones are untouched.
			Config:            clusterConfig(moto, withKey(keyB), poolHCL("workers", 3, "worker")),
			ConfigStateChecks: []statecheck.StateCheck{firstID()},
			Check:             resource.ComposeAggregateTestCheckFunc(checkKey(t, moto, keyB), launchedWith("ec2k8s-demo-workers")),
		},
		{
			Config: clusterConfig(moto, "", poolHCL("workers", 3, "worker")),
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(nodePoolAddr("workers"), plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{firstID(),
				statecheck.ExpectKnownValue(nodePoolAddr("workers"), tfjsonpath.New("key_pair_name"), knownvalue.Null())},
			Check: checkKey(t, moto, ""),
		},
	})
}

// TestAccNodePool_partialCreateIsNotTainted: instances exist, but naming them fails (a denied
// CreateTags) or they do not run within the create timeout. The create records them and ends
// with a warning instead of an error, so the pool is not tainted: the next plan updates it in
// place, and the next apply finishes the job with the same instances.
func TestAccNodePool_partialCreateIsNotTainted(t *testing.T) {
	// pendingFor shows the instances of pool as pending: a rewrite of EC2's answers that leaves
	// the cluster's other nodes (its servers) running.
	pendingFor := func(moto *acctest.Moto, pool string) func([]byte) []byte {
		return func(body []byte) []byte {
			return keepPending(body, func(id string) bool { return instancePool(moto, id) == pool })
		}
	}
	for name, tc := range map[string]struct {
		timeout string
		break_  func(p *acctest.FaultProxy, m *acctest.Moto)
		fix     func(p *acctest.FaultProxy)
	}{
		"naming denied": {
			break_: func(p *acctest.FaultProxy, _ *acctest.Moto) { p.Force("CreateTags", acctest.Unauthorized) },
			fix:    func(p *acctest.FaultProxy) { p.Force("CreateTags", acctest.NoFault) },
		},
		"nodes not running in time": {
			timeout: "timeouts {\n    create = \"4s\"\n  }",
			break_:  func(p *acctest.FaultProxy, m *acctest.Moto) { p.Rewrite("DescribeInstances", pendingFor(m, "workers")) },
			fix:     func(p *acctest.FaultProxy) { p.Rewrite("DescribeInstances", nil) },
		},
	} {
		t.Run(name, func(t *testing.T) {
			moto := acctest.SharedMoto(t)
			proxy := acctest.NewFaultProxy(t, moto, 0, 1)
			pool := strings.Replace(poolHCL("workers", 3, "worker"), "  worker = true", "  worker = true\n  "+tc.timeout, 1)
			sameIDs := statecheck.CompareValue(compare.ValuesSame())
			testAccRunPools(t, moto, []resource.TestStep{
				// The cluster's servers first, with nothing broken; then the workers.
				{Config: proxiedConfig(moto, proxy.URL, "")},
				{
					PreConfig:          func() { tc.break_(proxy, moto) },
					Config:             proxiedConfig(moto, proxy.URL, pool),
					ExpectNonEmptyPlan: true, // the nodes are not named yet
					ConfigStateChecks: []statecheck.StateCheck{
						sameIDs.AddStateValue(nodePoolAddr("workers"), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id")),
						statecheck.ExpectKnownValue(nodePoolAddr("workers"), tfjsonpath.New("nodes"), knownvalue.ListSizeExact(3)),
					},
					Check: checkPoolCount(t, moto, "workers", 3),
				},
				{
					PreConfig: func() { tc.fix(proxy) },
					Config:    proxiedConfig(moto, proxy.URL, pool),
					ConfigPlanChecks: resource.ConfigPlanChecks{
						// Updated in place: a tainted pool would be replaced, every node destroyed.
						PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(nodePoolAddr("workers"), plancheck.ResourceActionUpdate)},
						PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					},
					ConfigStateChecks: []statecheck.StateCheck{
						sameIDs.AddStateValue(nodePoolAddr("workers"), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id")),
					},
					Check: resource.ComposeAggregateTestCheckFunc(checkPoolCount(t, moto, "workers", 3), checkNames(t, moto)),
				},
			})
			if n := proxy.Count("RunInstances"); n != 2 {
				t.Errorf("RunInstances reached EC2 %d times; want 2 (servers, workers): the last apply must launch nothing", n)
			}
		})
	}
}

// TestAccNodePool_createThatLaunchedNothingFails: a create that launched nothing (EC2 has no
// capacity) is an error, so the pool is not in the state and the next plan creates it; once
// capacity is back, the apply launches the pool. (A create that launched something is a warning:
// TestAccNodePool_partialCreateIsNotTainted.)
func TestAccNodePool_createThatLaunchedNothingFails(t *testing.T) {
	moto := acctest.SharedMoto(t)
	proxy := acctest.NewFaultProxy(t, moto, 0, 1)
	config := proxiedConfig(moto, proxy.URL, poolHCL("workers", 3, "worker"))
	testAccRunPools(t, moto, []resource.TestStep{
		{Config: proxiedConfig(moto, proxy.URL, "")},
		{
			PreConfig:   func() { proxy.Force("RunInstances", acctest.CapacityError) },
			Config:      config,
			ExpectError: regexp.MustCompile(`(?s)Node pool create failed.*nothing was launched`),
		},
		{
			PreConfig: func() {
				proxy.Force("RunInstances", acctest.NoFault)
				if live := liveInstances(t, moto, "workers"); len(live) != 0 {
					t.Fatalf("the failed create left %d instances", len(live))
				}
			},
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(nodePoolAddr("workers"), plancheck.ResourceActionCreate)},
			},
			Check: resource.ComposeAggregateTestCheckFunc(checkPoolCount(t, moto, "workers", 3), checkNames(t, moto)),
		},
	})
	if n := proxy.Injected()[acctest.CapacityError]; n != 1 {
		t.Errorf("%d capacity errors reached the provider; want 1 (not retried)", n)
	}
}

// TestAccNodePool_renameDenied: a Name changed in the console is set back by the next apply; when
// EC2 refuses the renaming, the apply still succeeds, with a warning, and the next one renames.
func TestAccNodePool_renameDenied(t *testing.T) {
	moto := acctest.SharedMoto(t)
	proxy := acctest.NewFaultProxy(t, moto, 0, 1)
	sameIDs := statecheck.CompareValue(compare.ValuesSame())
	firstID := func() statecheck.StateCheck {
		return sameIDs.AddStateValue(nodePoolAddr("workers"), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("instance_id"))
	}
	config := proxiedConfig(moto, proxy.URL, poolHCL("workers", 2, "worker"))
	testAccRunPools(t, moto, []resource.TestStep{
		{Config: config, ConfigStateChecks: []statecheck.StateCheck{firstID()}, Check: checkNames(t, moto)},
		{
			PreConfig: func() {
				victim := liveInstances(t, moto, "workers")[0].InstanceId
				if _, err := acctest.EC2(moto, "us-west-2").CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{aws.ToString(victim)},
					Tags: []types.Tag{{Key: aws.String(provisioning.TagName), Value: aws.String("renamed-in-console")}}}); err != nil {
					t.Fatal(err)
				}
				proxy.Force("CreateTags", acctest.Unauthorized)
			},
			Config:             config,
			ExpectNonEmptyPlan: true, // still misnamed
			Check:              checkPoolCount(t, moto, "workers", 2),
		},
		{
			PreConfig: func() { proxy.Force("CreateTags", acctest.NoFault) },
			Config:    config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(nodePoolAddr("workers"), plancheck.ResourceActionUpdate)},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{firstID()},
			Check:             checkNames(t, moto),
		},
	})
}

var runningRe = regexp.MustCompile(`<code>16</code>(\s*)<name>running</name>`)

// keepPending rewrites a DescribeInstances answer so that the running instances for which
// pending says so are shown pending; the others are left alone.
func keepPending(body []byte, pending func(id string) bool) []byte {
	s := string(body)
	var out strings.Builder
	for {
		i := strings.Index(s, "<instanceId>")
		if i < 0 {
			out.WriteString(s)
			return []byte(out.String())
		}
		out.WriteString(s[:i])
		s = s[i:]
		next := strings.Index(s[len("<instanceId>"):], "<instanceId>")
		seg := s
		if next >= 0 {
			seg = s[:next+len("<instanceId>")]
		}
		id, _, _ := strings.Cut(strings.TrimPrefix(seg, "<instanceId>"), "<")
		if pending(id) {
			seg = runningRe.ReplaceAllString(seg, "<code>0</code>${1}<name>pending</name>")
		}
		out.WriteString(seg)
		s = s[len(seg):]
	}
}

// instancePool is the pool tag of an instance, asked of moto directly.
func instancePool(m *acctest.Moto, id string) string {
	out, err := ec2.New(ec2.Options{Region: "us-west-2", BaseEndpoint: aws.String(m.DirectURL),
		Credentials: credentials.NewStaticCredentialsProvider(acctest.AccessKey, acctest.SecretKey, "")}).
		DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) == 0 {
		return ""
	}
	return acctest.TagValue(out.Reservations[0].Instances[0].Tags, provisioning.TagPool)
}
