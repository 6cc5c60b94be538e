package contract

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// faultClient is a provisioning client whose EC2 calls go through the proxy, with enough
// retries for a 20% fault rate and short backoffs.
func faultClient(t *testing.T, proxyURL string) *provisioning.Client {
	t.Helper()
	settings := awsclient.Settings{Endpoints: awsclient.Endpoints{EC2: proxyURL}, MaxRetries: 10, MaxBackoff: 200 * time.Millisecond}
	cfg, err := settings.Config(context.Background(), awsclient.Credentials{Region: "us-west-2", AccessKey: acctest.AccessKey, SecretKey: acctest.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return &provisioning.Client{EC2: settings.EC2(cfg, nil), Poll: 10 * time.Millisecond}
}

func faultPool(t *testing.T, c *provisioning.Client, name string) provisioning.Pool {
	t.Helper()
	res, err := provisioning.ResolveTemplate(context.Background(), c.EC2, provisioning.Template{Region: "us-west-2", Zone: "a",
		SecurityGroups: []string{provisioning.ManagedSecurityGroup}, InstanceType: "t3.medium", RootSize: 32}, "")
	if err != nil {
		t.Fatalf("resolving the template through the proxy: %v", err)
	}
	return testPool(res, "faults", name, acctest.PublicKey(1, name))
}

// proxiedPool is the bed of a test that forces faults: a pool named name, of a client (made by
// newClient) that reaches the shared moto through a fault proxy injecting none until told to.
func proxiedPool(t *testing.T, newClient func(*testing.T, string) *provisioning.Client, name string) (*acctest.Moto, *acctest.FaultProxy, *provisioning.Client, provisioning.Pool) {
	t.Helper()
	m := acctest.SharedMoto(t)
	proxy := acctest.NewFaultProxy(t, m, 0, 1)
	c := newClient(t, proxy.URL)
	return m, proxy, c, faultPool(t, c, name)
}

// testPool is a worker pool of cluster on a resolved template; its spec is told apart by the
// Kubernetes version (see withSpec).
func testPool(res provisioning.Resolved, cluster, name, publicKey string) provisioning.Pool {
	return provisioning.Pool{Cluster: cluster, Name: name, HostnamePrefix: name + "-", Roles: provisioning.Roles{Worker: true},
		PublicKey: publicKey, PKI: clusterPKI(),
		Spec: provisioning.NodeSpec{
			Launch: provisioning.LaunchSpec{Region: "us-west-2", AvailabilityZone: res.AvailabilityZone, VPCID: res.VPCID, SubnetID: res.SubnetID,
				SecurityGroups: []string{provisioning.ManagedSecurityGroup}, AMI: res.AMI, InstanceType: "t3.medium", RootSize: 32,
				VolumeType: "gp3", Encrypted: true, HTTPTokens: "required", HopLimit: 1},
			Boot: bootstrap.Node{Cluster: cluster, Distribution: "rke2", KubernetesVersion: "a", Pool: name, HostnamePrefix: name + "-", Roles: []string{"worker"}},
		},
	}
}

// seedPool is p's cluster's server: one etcd and control-plane node, for p's workers to join
// through.
func seedPool(p provisioning.Pool) provisioning.Pool {
	s := p
	s.Name, s.HostnamePrefix, s.Quantity, s.NextIndex = "seed", "seed-", 1, 0
	s.Roles = provisioning.Roles{Etcd: true, ControlPlane: true}
	s.Spec.Boot.Pool, s.Spec.Boot.HostnamePrefix, s.Spec.Boot.Roles = "seed", "seed-", s.Roles.List()
	return s
}

// seed makes p's cluster's server (seedPool), failing the test if it cannot.
func seedServers(t *testing.T, c *provisioning.Client, p provisioning.Pool) {
	t.Helper()
	if _, _, err := reconcile(context.Background(), c, seedPool(p), nil); err != nil {
		t.Fatalf("making the cluster's server: %v", err)
	}
}

// withSpec gives p the spec named version.
func withSpec(p provisioning.Pool, version string) provisioning.Pool {
	p.Spec.Boot.KubernetesVersion = version
	return p
}

// reconcile runs one Reconcile and fails on its warnings too.
func reconcile(ctx context.Context, c *provisioning.Client, p provisioning.Pool, nodes []provisioning.Node) ([]provisioning.Node, int, error) {
	out, err := c.Reconcile(ctx, p, nodes)
	if err == nil && len(out.Warnings) > 0 {
		err = errors.Join(out.Warnings...)
	}
	return out.Nodes, out.Next, err
}

// everLaunched counts the pool's instances in every state, terminated included: duplicates
// from a retried launch would show here.
func everLaunched(t *testing.T, m *acctest.Moto, pool string) (total, live int) {
	t.Helper()
	for _, i := range acctest.Instances(t, m, "us-west-2", acctest.TagFilter(provisioning.TagPool, pool)) {
		total++
		if i.State.Name != types.InstanceStateNameTerminated {
			live++
		}
	}
	return total, live
}

// TestFaults_lifecycleSurvives: with 20% of EC2 requests throttled, failed, unavailable or cut
// (before or after moto handled them), create, scale, roll and destroy still succeed, no launch
// is doubled and nothing is left.
func TestFaults_lifecycleSurvives(t *testing.T) {
	for _, seed := range []int64{20261126, 1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) { faultyLifecycle(t, seed) })
	}
}

func faultyLifecycle(t *testing.T, faultSeed int64) {
	m := acctest.SharedMoto(t)
	proxy := acctest.NewFaultProxy(t, m, 0.2, faultSeed)
	c := faultClient(t, proxy.URL)
	pool := faultPool(t, c, "flaky")
	seedServers(t, c, pool)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var nodes []provisioning.Node
	var err error
	next, launches := 0, 0
	for _, step := range []struct {
		quantity int
		spec     string
	}{{3, "a"}, {5, "a"}, {5, "b"}, {2, "b"}} {
		pool = withSpec(pool, step.spec)
		pool.Quantity, pool.NextIndex = step.quantity, next
		before := len(nodes)
		if nodes, next, err = reconcile(ctx, c, pool, nodes); err != nil {
			t.Fatalf("reconciling to %d×%s: %v (faults so far %v)", step.quantity, step.spec, err, proxy.Injected())
		}
		if len(nodes) != step.quantity {
			t.Fatalf("%d nodes after reconciling to %d", len(nodes), step.quantity)
		}
		if step.spec == "b" && before > 0 && step.quantity == before {
			launches += step.quantity // a roll replaces every node
		} else if step.quantity > before {
			launches += step.quantity - before
		}
	}
	for _, name := range []string{pool.Name, "seed"} {
		if err := c.DeletePool(ctx, pool.Cluster, name); err != nil {
			t.Fatalf("deleting %s: %v", name, err)
		}
	}
	total, live := everLaunched(t, m, "flaky")
	if total != launches {
		t.Errorf("moto made %d instances for %d launches: a retried launch was doubled", total, launches)
	}
	if live != 0 {
		t.Errorf("%d instances are left", live)
	}
	kp, err := acctest.EC2(m, "us-west-2").DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(kp.KeyPairs) != 0 {
		t.Errorf("key pair %s is left", aws.ToString(kp.KeyPairs[0].KeyName))
	}
	injected := proxy.Injected()
	if len(injected) < 4 {
		t.Errorf("only %d kinds of fault were injected (%v): the run proves less than it claims; change the seed", len(injected), injected)
	}
	t.Logf("faults injected: %v; instances launched: %d", injected, total)
}

// TestFaults_lostLaunchAnswerIsAdopted: moto launches the nodes but the answer is lost; the
// client finds them by their launch token instead of launching again.
func TestFaults_lostLaunchAnswerIsAdopted(t *testing.T) {
	m, proxy, c, pool := proxiedPool(t, faultClient, "lost")
	seedServers(t, c, pool)
	proxy.ForceN("RunInstances", acctest.DropAfter, 1)
	pool.Quantity = 3
	nodes, _, err := reconcile(context.Background(), c, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	total, live := everLaunched(t, m, "lost")
	if total != 3 || live != 3 || len(nodes) != 3 {
		t.Errorf("after a lost launch answer: %d made, %d live, %d nodes; want 3, 3, 3", total, live, len(nodes))
	}
	if proxy.Injected()[acctest.DropAfter] != 1 {
		t.Errorf("the launch answer was not dropped: %v", proxy.Injected())
	}
}

// TestFaults_insufficientCapacity: a capacity error on launch is clear and launches nothing.
func TestFaults_insufficientCapacity(t *testing.T) {
	m, proxy, c, pool := proxiedPool(t, faultClient, "full")
	seedServers(t, c, pool)
	proxy.Force("RunInstances", acctest.CapacityError)
	pool.Quantity = 3
	_, err := c.Reconcile(context.Background(), pool, nil)
	if err == nil || !strings.Contains(err.Error(), "EC2 has no capacity for 3 t3.medium instances in us-west-2a") || !strings.Contains(err.Error(), "nothing was launched") {
		t.Fatalf("error = %v; want a clear capacity error", err)
	}
	if total, _ := everLaunched(t, m, "full"); total != 0 {
		t.Errorf("%d instances exist after a capacity error", total)
	}
	if n := proxy.Injected()[acctest.CapacityError]; n != 1 {
		t.Errorf("RunInstances was tried %d times; a capacity error is not retried", n)
	}
}
