package provisioning

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// poolFake is an in-memory EC2 for the pool logic: instances with tags and states, a journal of
// mutating calls, and the largest number of live instances seen, to check "new before old".
type poolFake struct {
	*fakeEC2
	instances map[string]*types.Instance
	order     []string
	journal   []string
	keyPairs  map[string]bool
	groupID   string
	rules     int
	live      int
	maxLive   int
	minLive   int // the fewest live instances seen after the first launch
	failRun   error
	// lag hides new instances from the next lag DescribeInstances calls and keeps them
	// pending for as many more, as EC2's eventual consistency does right after a launch.
	lag    int
	hidden map[string]int
}

func newPoolFake() *poolFake {
	return &poolFake{fakeEC2: newFake(), instances: map[string]*types.Instance{}, keyPairs: map[string]bool{}, minLive: -1}
}

func (f *poolFake) count() {
	f.live = 0
	for _, i := range f.instances {
		if i.State.Name == types.InstanceStateNameRunning {
			f.live++
		}
	}
	f.maxLive = max(f.maxLive, f.live)
	if len(f.instances) > 0 && (f.minLive < 0 || f.live < f.minLive) {
		f.minLive = f.live
	}
}

func (f *poolFake) RunInstances(_ context.Context, in *ec2.RunInstancesInput, _ ...func(*ec2.Options)) (*ec2.RunInstancesOutput, error) {
	f.calls["RunInstances"]++
	if f.failRun != nil {
		return nil, f.failRun
	}
	out := &ec2.RunInstancesOutput{}
	for i := range aws.ToInt32(in.MaxCount) {
		id := fmt.Sprintf("i-%08d", len(f.order)+1)
		inst := &types.Instance{InstanceId: aws.String(id), AmiLaunchIndex: aws.Int32(i), Tags: in.TagSpecifications[0].Tags,
			State: &types.InstanceState{Name: types.InstanceStateNameRunning}, LaunchTime: aws.Time(time.Unix(int64(len(f.order)), 0))}
		f.instances[id] = inst
		f.order = append(f.order, id)
		if f.lag > 0 {
			if f.hidden == nil {
				f.hidden = map[string]int{}
			}
			f.hidden[id] = 2 * f.lag
			inst.State.Name = types.InstanceStateNamePending
		}
		out.Instances = append(out.Instances, *inst)
	}
	f.journal = append(f.journal, fmt.Sprintf("run %d", aws.ToInt32(in.MaxCount)))
	f.count()
	return out, nil
}

func (f *poolFake) TerminateInstances(_ context.Context, in *ec2.TerminateInstancesInput, _ ...func(*ec2.Options)) (*ec2.TerminateInstancesOutput, error) {
	f.calls["TerminateInstances"]++
	for _, id := range in.InstanceIds {
		f.instances[id].State.Name = types.InstanceStateNameTerminated
	}
	f.journal = append(f.journal, "terminate "+strings.Join(in.InstanceIds, ","))
	f.count()
	return &ec2.TerminateInstancesOutput{}, nil
}

func (f *poolFake) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.calls["DescribeInstances"]++
	res := types.Reservation{}
	for _, id := range f.order {
		i := f.instances[id]
		if left := f.hidden[id]; left > 0 {
			f.hidden[id]--
			if left > f.lag {
				continue // not visible yet
			}
			if left == 1 {
				i.State.Name = types.InstanceStateNameRunning
			}
		}
		ok := matches(filterValues(in.Filters, "instance-id"), id) && matches(filterValues(in.Filters, "instance-state-name"), string(i.State.Name))
		for _, fl := range in.Filters {
			if key, isTag := strings.CutPrefix(aws.ToString(fl.Name), "tag:"); isTag && !contains(fl.Values, tagOf(i.Tags, key)) {
				ok = false
			}
		}
		if ok {
			res.Instances = append(res.Instances, *i)
		}
	}
	return &ec2.DescribeInstancesOutput{Reservations: []types.Reservation{res}}, nil
}

func tagOf(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func (f *poolFake) DescribeKeyPairs(_ context.Context, in *ec2.DescribeKeyPairsInput, _ ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error) {
	out := &ec2.DescribeKeyPairsOutput{}
	for _, n := range filterValues(in.Filters, "key-name") {
		if f.keyPairs[n] {
			out.KeyPairs = append(out.KeyPairs, types.KeyPairInfo{KeyName: aws.String(n)})
		}
	}
	return out, nil
}

func (f *poolFake) ImportKeyPair(_ context.Context, in *ec2.ImportKeyPairInput, _ ...func(*ec2.Options)) (*ec2.ImportKeyPairOutput, error) {
	f.keyPairs[aws.ToString(in.KeyName)] = true
	f.journal = append(f.journal, "import-key "+aws.ToString(in.KeyName))
	return &ec2.ImportKeyPairOutput{}, nil
}

func (f *poolFake) DeleteKeyPair(_ context.Context, in *ec2.DeleteKeyPairInput, _ ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error) {
	delete(f.keyPairs, aws.ToString(in.KeyName))
	f.journal = append(f.journal, "delete-key "+aws.ToString(in.KeyName))
	return &ec2.DeleteKeyPairOutput{}, nil
}

func (f *poolFake) CreateSecurityGroup(_ context.Context, in *ec2.CreateSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error) {
	f.groupID = "sg-0000000a"
	f.groups = append(f.groups, types.SecurityGroup{GroupId: aws.String(f.groupID), GroupName: in.GroupName, VpcId: in.VpcId})
	f.journal = append(f.journal, "create-group "+aws.ToString(in.GroupName))
	return &ec2.CreateSecurityGroupOutput{GroupId: aws.String(f.groupID)}, nil
}

func (f *poolFake) AuthorizeSecurityGroupIngress(_ context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	f.rules += len(in.IpPermissions)
	for i := range f.groups {
		if aws.ToString(f.groups[i].GroupId) == aws.ToString(in.GroupId) {
			f.groups[i].IpPermissions = append(f.groups[i].IpPermissions, in.IpPermissions...)
		}
	}
	return &ec2.AuthorizeSecurityGroupIngressOutput{}, nil
}

func testPool(quantity int, spec string) Pool {
	return Pool{
		Cluster: "demo", Name: "etcd", HostnamePrefix: "demo-etcd-", Quantity: quantity, Roles: Roles{Etcd: true}, Spec: spec,
		KeyPairName: "ec2k8s-demo-etcd", PublicKey: "ssh-ed25519 AAAA",
		Launch:   LaunchSpec{Region: "us-west-2", VPCID: "vpc-00000001", SubnetID: "subnet-0000000a", SecurityGroups: []string{ManagedSecurityGroup}, AMI: "ami-00000002", InstanceType: "t3.medium", RootSize: 32, VolumeType: "gp3", HTTPTokens: "required", HopLimit: 1},
		UserData: func(int) ([]byte, error) { return []byte("#cloud-config\n"), nil },
	}
}

func withNext(p Pool, next int) Pool {
	p.NextIndex = next
	return p
}

func hostnames(nodes []Node) string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.Hostname)
	}
	return strings.Join(out, ",")
}

func TestReconcile_createScaleReplaceDelete(t *testing.T) {
	ctx := context.Background()
	f := newPoolFake()
	c := &Client{EC2: f, Poll: time.Millisecond}

	nodes, next, err := c.Reconcile(ctx, testPool(3, "v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := hostnames(nodes); got != "demo-etcd-1,demo-etcd-2,demo-etcd-3" {
		t.Errorf("created %s", got)
	}
	if f.calls["RunInstances"] != 1 || f.rules == 0 || !f.keyPairs["ec2k8s-demo-etcd"] {
		t.Errorf("create: %d RunInstances, %d rules, key pairs %v; want one launch, the group's rules and the key pair", f.calls["RunInstances"], f.rules, f.keyPairs)
	}

	// Scale down to 1: the newest two go in one call; the first node, which others join, stays.
	f.journal = nil
	nodes, next, err = c.Reconcile(ctx, withNext(testPool(1, "v1"), next), nodes)
	if err != nil {
		t.Fatal(err)
	}
	if got := hostnames(nodes); got != "demo-etcd-1" {
		t.Errorf("after scale-down: %s; want demo-etcd-1", got)
	}
	if want := "terminate i-00000002,i-00000003"; len(f.journal) != 1 || f.journal[0] != want {
		t.Errorf("scale-down journal = %q; want [%q]", f.journal, want)
	}

	// Scale up to 3 again: one launch, names continue and are never reused.
	nodes, next, err = c.Reconcile(ctx, withNext(testPool(3, "v1"), next), nodes)
	if err != nil {
		t.Fatal(err)
	}
	if got := hostnames(nodes); got != "demo-etcd-1,demo-etcd-4,demo-etcd-5" {
		t.Errorf("after scale-up: %s", got)
	}

	// A new spec replaces every node one at a time, new before old: never fewer than 3 run.
	f.journal, f.minLive, f.maxLive = nil, -1, 0
	f.count()
	nodes, next, err = c.Reconcile(ctx, withNext(testPool(3, "v2"), next), nodes)
	if err != nil {
		t.Fatal(err)
	}
	wantJournal := "run 1|terminate i-00000001|run 1|terminate i-00000004|run 1|terminate i-00000005"
	if got := strings.Join(f.journal, "|"); got != wantJournal {
		t.Errorf("rolling journal = %q; want %q", got, wantJournal)
	}
	if f.minLive < 3 || f.maxLive != 4 {
		t.Errorf("live nodes during the roll: min %d, max %d; want never below 3 and at most one extra", f.minLive, f.maxLive)
	}
	if next != 9 {
		t.Errorf("next index after the roll = %d; want 9", next)
	}
	for _, n := range nodes {
		if n.Spec != "v2" {
			t.Errorf("node %s has spec %q after the roll", n.Hostname, n.Spec)
		}
	}

	// Delete: every node terminated, the key pair deleted, the managed group kept.
	f.journal = nil
	if err := c.DeletePool(ctx, testPool(3, "v2")); err != nil {
		t.Fatal(err)
	}
	if rest, _ := c.ReadPool(ctx, "demo", "etcd"); len(rest) != 0 {
		t.Errorf("after delete %d nodes live", len(rest))
	}
	if f.keyPairs["ec2k8s-demo-etcd"] || f.groupID == "" {
		t.Errorf("after delete: key pairs %v, group %q; want no key pair and the group kept", f.keyPairs, f.groupID)
	}
}

func TestLaunch_capacityErrorIsClearAndLaunchesNothing(t *testing.T) {
	f := newPoolFake()
	f.failRun = &apiError{code: "InsufficientInstanceCapacity", msg: "We currently do not have sufficient t3.medium capacity"}
	c := &Client{EC2: f, Poll: time.Millisecond}
	_, _, err := c.Reconcile(context.Background(), testPool(3, "v1"), nil)
	if err == nil || !strings.Contains(err.Error(), "no capacity for 3 t3.medium instances") || !strings.Contains(err.Error(), "nothing was launched") {
		t.Fatalf("error = %v; want a clear capacity error", err)
	}
	if f.calls["RunInstances"] != 1 {
		t.Errorf("RunInstances called %d times; a capacity error is not retried", f.calls["RunInstances"])
	}
	if len(f.instances) != 0 {
		t.Errorf("%d instances exist", len(f.instances))
	}
}

// apiError is a smithy.APIError for fakes.
type apiError struct{ code, msg string }

func (e *apiError) Error() string                 { return e.code + ": " + e.msg }
func (e *apiError) ErrorCode() string             { return e.code }
func (e *apiError) ErrorMessage() string          { return e.msg }
func (e *apiError) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

// TestLaunch_waitsOutEventualConsistency: right after RunInstances EC2 may not list the new
// instances, then lists them pending; the wait polls all of them with one call per poll until
// every one runs.
func TestLaunch_waitsOutEventualConsistency(t *testing.T) {
	f := newPoolFake()
	f.lag = 3
	c := &Client{EC2: f, Poll: time.Millisecond}
	nodes, _, err := c.Reconcile(context.Background(), testPool(4, "v1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 4 {
		t.Fatalf("%d nodes; want 4", len(nodes))
	}
	for _, n := range nodes {
		if n.State != "running" {
			t.Errorf("node %s is %s", n.Hostname, n.State)
		}
	}
	// 3 polls see nothing, 2 see them pending, the 6th sees them running: one call per poll.
	if got := f.calls["DescribeInstances"]; got != 6 {
		t.Errorf("DescribeInstances calls = %d; want 6 (one per poll for the whole launch)", got)
	}
}
