package contract

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// phase is one measured pool operation.
type phase struct {
	calls    map[string]int
	wall     time.Duration
	emulator time.Duration // wall time with an EC2 call in flight
}

func (p phase) total() int {
	n := 0
	for _, v := range p.calls {
		n += v
	}
	return n
}

func (p phase) String() string {
	var parts []string
	for _, op := range awsclient.Operations(p.calls) {
		parts = append(parts, fmt.Sprintf("%s=%d", op, p.calls[op]))
	}
	return fmt.Sprintf("%3d calls (%s)", p.total(), strings.Join(parts, " "))
}

// measure runs fn with a fresh counter on c.
func measure(counter *awsclient.CallCounter, fn func() error) (phase, error) {
	counter.Reset()
	start := time.Now()
	err := fn()
	return phase{calls: counter.Calls(), wall: time.Since(start), emulator: counter.Busy()}, err
}

// rawRunCost times moto alone launching and terminating n instances in one call each: the
// emulator's own per-instance cost, which the provider cannot change.
func rawRunCost(t *testing.T, m *acctest.Moto, ami, subnet string, n int) time.Duration {
	t.Helper()
	ctx := context.Background()
	c := acctest.EC2(m, "us-west-2")
	start := time.Now()
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Medium,
		MinCount: aws.Int32(int32(n)), MaxCount: aws.Int32(int32(n)), SubnetId: aws.String(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, i := range out.Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	if _, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: ids}); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// TestBench_poolAPICalls is `make bench`: for pools of 1, 10 and 100 nodes it prints the EC2
// calls of create, refresh and destroy by operation, and how create time grows with size. It
// asserts call counts (RunInstances per create, DescribeInstances per refresh), never timing,
// so it also runs in `make test`.
func TestBench_poolAPICalls(t *testing.T) {
	m := acctest.SharedMoto(t)
	counter := awsclient.NewCallCounter()
	settings := awsclient.Settings{Endpoints: awsclient.Endpoints{EC2: m.URL}, MaxRetries: 3}
	cfg, err := settings.Config(context.Background(), awsclient.Credentials{Region: "us-west-2", AccessKey: acctest.AccessKey, SecretKey: acctest.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	c := &provisioning.Client{EC2: settings.EC2(cfg, counter), Poll: 50 * time.Millisecond}
	ctx := context.Background()
	type result struct {
		n                       int
		create, refresh, delete phase
		raw                     time.Duration
	}
	// Warm up: the managed security group exists before any measured create, so every size
	// pays for the same calls.
	if _, err := c.EnsureSecurityGroups(ctx, faultPool(t, c, "warmup")); err != nil {
		t.Fatal(err)
	}
	seedServers(t, c, faultPool(t, c, "warmup"))
	var results []result
	for _, n := range []int{1, 10, 100} {
		pool := faultPool(t, c, fmt.Sprintf("bench%d", n))
		pool.Quantity = n
		r := result{n: n}
		if r.create, err = measure(counter, func() error { _, _, err := reconcile(ctx, c, pool, nil); return err }); err != nil {
			t.Fatal(err)
		}
		if r.refresh, err = measure(counter, func() error {
			nodes, err := c.ReadPool(ctx, pool.Cluster, pool.Name)
			if err == nil && len(nodes) != n {
				err = fmt.Errorf("refresh found %d nodes; want %d", len(nodes), n)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if r.delete, err = measure(counter, func() error { return c.DeletePool(ctx, pool.Cluster, pool.Name) }); err != nil {
			t.Fatal(err)
		}
		r.raw = rawRunCost(t, m, pool.Spec.Launch.AMI, pool.Spec.Launch.SubnetID, n)
		if got := r.create.calls["RunInstances"]; got != 1 {
			t.Errorf("create of %d nodes made %d RunInstances calls; want 1", n, got)
		}
		// Nodes of a launch share their tags at creation; each is named after (a launch of
		// one is named at creation).
		if got, want := r.create.calls["CreateTags"], map[bool]int{true: 0, false: n}[n == 1]; got != want {
			t.Errorf("create of %d nodes made %d CreateTags calls; want %d", n, got, want)
		}
		if got := r.refresh.calls["DescribeInstances"]; got != 1 {
			t.Errorf("refresh of %d nodes made %d DescribeInstances calls; want 1", n, got)
		}
		results = append(results, r)
	}
	// Everything but the naming is the same for every size.
	for _, r := range results[1:] {
		for _, ph := range []struct {
			name      string
			got, base phase
		}{{"create", r.create, results[0].create}, {"refresh", r.refresh, results[0].refresh}, {"destroy", r.delete, results[0].delete}} {
			if got, base := ph.got.total()-ph.got.calls["CreateTags"], ph.base.total()-ph.base.calls["CreateTags"]; got != base {
				t.Errorf("%s of %d nodes made %d calls besides CreateTags; of 1 node %d: calls must not grow with the pool", ph.name, r.n, got, base)
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nEC2 calls per pool operation (moto on 127.0.0.1)\n")
	for _, r := range results {
		fmt.Fprintf(&b, "quantity %3d  create  %s\n", r.n, r.create)
		fmt.Fprintf(&b, "              refresh %s\n", r.refresh)
		fmt.Fprintf(&b, "              destroy %s\n", r.delete)
	}
	one, hundred := results[0], results[len(results)-1]
	extraEmulator := hundred.create.emulator - one.create.emulator
	fmt.Fprintf(&b, "\ncreate wall time, 100 nodes vs 1: %.2fx (%s vs %s)\n", ratio(hundred.create.wall, one.create.wall),
		hundred.create.wall.Round(time.Millisecond), one.create.wall.Round(time.Millisecond))
	fmt.Fprintf(&b, "time inside EC2 calls during create, 100 nodes vs 1: %s vs %s (+%s is the emulator's per-instance cost)\n",
		hundred.create.emulator.Round(time.Millisecond), one.create.emulator.Round(time.Millisecond), extraEmulator.Round(time.Millisecond))
	fmt.Fprintf(&b, "create wall time, 100 nodes vs 1, without the emulator's extra per-instance cost: %.2fx (goal: at most 2x)\n",
		ratio(hundred.create.wall-extraEmulator, one.create.wall))
	fmt.Fprintf(&b, "moto alone, one RunInstances + DescribeInstances + TerminateInstances of 100 instances vs 1: %.2fx (%s vs %s)\n",
		ratio(hundred.raw, one.raw), hundred.raw.Round(time.Millisecond), one.raw.Round(time.Millisecond))
	t.Log(b.String())
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
