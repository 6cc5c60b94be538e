package provisioning

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"golang.org/x/crypto/ssh"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// poolFake is an in-memory EC2 for the pool logic: instances with tags and states, a journal of
// mutating calls, and the largest number of live instances seen, to check "new before old".
type poolFake struct {
	*fakeEC2
	instances map[string]*types.Instance
	order     []string
	journal   []string
	keyPairs  map[string]string // name → public key
	groupID   string
	rules     int
	live      int
	maxLive   int
	minLive   int // the fewest live instances seen after the first launch
	failRun   error
	failTags  error
	servers   []types.Instance // other pools' nodes, listed but not counted
	mu        sync.Mutex
	// lag hides new instances from the next lag DescribeInstances calls and keeps them
	// pending for as many more, as EC2's eventual consistency does right after a launch.
	lag    int
	hidden map[string]int
	// tagBarrier holds each CreateTags (outside the lock) until that many are in flight, or 200 ms
	// passed: calls the client has already started overlap whatever the scheduling; tagging and
	// maxTagging count the calls in flight at once, and the most seen.
	tagBarrier          int32
	tagging, maxTagging atomic.Int32
}

func newPoolFake() *poolFake {
	f := &poolFake{fakeEC2: newFake(), instances: map[string]*types.Instance{}, keyPairs: map[string]string{}, minLive: -1}
	// A control-plane server of the cluster, in a pool of its own, for agents to join through.
	f.servers = []types.Instance{{InstanceId: aws.String("i-server01"), PrivateIpAddress: aws.String("10.0.0.5"),
		State: &types.InstanceState{Name: types.InstanceStateNameRunning}, Tags: []types.Tag{
			{Key: aws.String(TagCluster), Value: aws.String("demo")}, {Key: aws.String(TagPool), Value: aws.String("cp")},
			{Key: aws.String(TagRoles), Value: aws.String("controlplane")}}}}
	return f
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
		inst := &types.Instance{InstanceId: aws.String(id), AmiLaunchIndex: aws.Int32(i), Tags: slices.Clone(in.TagSpecifications[0].Tags), KeyName: in.KeyName,
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
			if key, isTag := strings.CutPrefix(aws.ToString(fl.Name), "tag:"); isTag && !slices.Contains(fl.Values, tagOf(i.Tags, key)) {
				ok = false
			}
		}
		if ok {
			res.Instances = append(res.Instances, *i)
		}
	}
	for _, i := range f.servers {
		ok := matches(filterValues(in.Filters, "instance-id"), aws.ToString(i.InstanceId)) && matches(filterValues(in.Filters, "instance-state-name"), string(i.State.Name))
		for _, fl := range in.Filters {
			if key, isTag := strings.CutPrefix(aws.ToString(fl.Name), "tag:"); isTag && !slices.Contains(fl.Values, tagOf(i.Tags, key)) {
				ok = false
			}
		}
		if ok {
			res.Instances = append(res.Instances, i)
		}
	}
	return &ec2.DescribeInstancesOutput{Reservations: []types.Reservation{res}}, nil
}

func (f *poolFake) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	now := f.tagging.Add(1)
	defer f.tagging.Add(-1)
	for seen := f.maxTagging.Load(); now > seen && !f.maxTagging.CompareAndSwap(seen, now); seen = f.maxTagging.Load() {
	}
	for deadline := time.Now().Add(200 * time.Millisecond); f.tagging.Load() < f.tagBarrier && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	f.mu.Lock() // the client names nodes concurrently
	defer f.mu.Unlock()
	f.calls["CreateTags"]++
	if f.failTags != nil {
		return nil, f.failTags
	}
	for _, id := range in.Resources {
		i := f.instances[id]
		if i == nil {
			continue
		}
		for _, t := range in.Tags {
			i.Tags = slices.DeleteFunc(i.Tags, func(old types.Tag) bool { return aws.ToString(old.Key) == aws.ToString(t.Key) })
			i.Tags = append(i.Tags, t)
		}
	}
	return &ec2.CreateTagsOutput{}, nil
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
		if k, ok := f.keyPairs[n]; ok {
			out.KeyPairs = append(out.KeyPairs, types.KeyPairInfo{KeyName: aws.String(n), PublicKey: aws.String(k)})
		}
	}
	return out, nil
}

func (f *poolFake) ImportKeyPair(_ context.Context, in *ec2.ImportKeyPairInput, _ ...func(*ec2.Options)) (*ec2.ImportKeyPairOutput, error) {
	f.keyPairs[aws.ToString(in.KeyName)] = string(in.PublicKeyMaterial)
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

var testPublicKey = publicKey(1) + " pool-test"

// publicKey is an ed25519 authorized key made from seed, without a comment.
func publicKey(seed byte) string {
	pub := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
}

// testPool is a pool of the fake region; version tells specs apart.
func testPool(quantity int, version string) Pool {
	return Pool{
		Cluster: "demo", Name: "w", HostnamePrefix: "demo-w-", Quantity: quantity, Roles: Roles{Worker: true},
		PublicKey: testPublicKey, PKI: poolPKI(),
		Spec: NodeSpec{
			Launch: LaunchSpec{Region: "us-west-2", VPCID: "vpc-00000001", SubnetID: "subnet-0000000a", SecurityGroups: []string{ManagedSecurityGroup}, AMI: "ami-00000002", InstanceType: "t3.medium", RootSize: 32, VolumeType: "gp3", HTTPTokens: "required", HopLimit: 1},
			Boot:   bootstrap.Node{Cluster: "demo", Distribution: "rke2", KubernetesVersion: version, Pool: "w", HostnamePrefix: "demo-w-", Roles: []string{"worker"}},
		},
	}
}

// poolPKI is one cluster PKI for every test pool.
var poolPKI = sync.OnceValue(func() *bootstrap.PKI {
	p, err := bootstrap.NewPKI(rand.Reader, time.Now(), "demo")
	if err != nil {
		panic(err)
	}
	return p
})

func hashOf(t *testing.T, p Pool) string {
	t.Helper()
	h, err := p.Spec.Hash()
	if err != nil {
		t.Fatal(err)
	}
	return h
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

func reconcile(t *testing.T, c *Client, p Pool, current []Node) ([]Node, int) {
	t.Helper()
	out, err := c.Reconcile(context.Background(), p, current)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Warnings) > 0 {
		t.Fatalf("warnings: %v", out.Warnings)
	}
	return out.Nodes, out.Next
}

// names are the instances' Name tags, by node.
func (f *poolFake) names(nodes []Node) string {
	var out []string
	for _, n := range nodes {
		out = append(out, tagOf(f.instances[n.InstanceID].Tags, TagName))
	}
	return strings.Join(out, ",")
}

func TestReconcile_createScaleReplaceDelete(t *testing.T) {
	ctx := context.Background()
	f := newPoolFake()
	c := &Client{EC2: f, Poll: time.Millisecond}

	nodes, next := reconcile(t, c, testPool(3, "v1"), nil)
	if got := hostnames(nodes); got != "demo-w-1,demo-w-2,demo-w-3" {
		t.Errorf("created %s", got)
	}
	if f.calls["RunInstances"] != 1 || f.rules == 0 || f.keyPairs["ec2k8s-demo-w"] != testPublicKey {
		t.Errorf("create: %d RunInstances, %d rules, key pairs %v; want one launch, the group's rules and the key pair", f.calls["RunInstances"], f.rules, f.keyPairs)
	}
	// One launch gives every instance the same tags: each is named after it runs.
	if got := f.names(nodes); got != "demo-w-1,demo-w-2,demo-w-3" {
		t.Errorf("Name tags = %s; want each node's name", got)
	}
	if f.calls["CreateTags"] != 3 {
		t.Errorf("CreateTags calls = %d; want one per new node", f.calls["CreateTags"])
	}

	// Scale down to 1: the newest two go in one call; the first node, which others join, stays.
	f.journal = nil
	nodes, next = reconcile(t, c, withNext(testPool(1, "v1"), next), nodes)
	if got := hostnames(nodes); got != "demo-w-1" {
		t.Errorf("after scale-down: %s; want demo-w-1", got)
	}
	if want := "terminate i-00000002,i-00000003"; len(f.journal) != 1 || f.journal[0] != want {
		t.Errorf("scale-down journal = %q; want [%q]", f.journal, want)
	}

	// Scale up to 3 again: one launch, names continue and are never reused.
	nodes, next = reconcile(t, c, withNext(testPool(3, "v1"), next), nodes)
	if got := hostnames(nodes); got != "demo-w-1,demo-w-4,demo-w-5" {
		t.Errorf("after scale-up: %s", got)
	}

	// A new spec replaces every node one at a time, new before old: never fewer than 3 run.
	// A launch of one node is named at launch: no CreateTags.
	f.journal, f.minLive, f.maxLive = nil, -1, 0
	f.calls["CreateTags"] = 0
	f.count()
	nodes, next = reconcile(t, c, withNext(testPool(3, "v2"), next), nodes)
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
	v2 := hashOf(t, testPool(3, "v2"))
	for _, n := range nodes {
		if n.Spec != v2 {
			t.Errorf("node %s has spec %q after the roll; want %q", n.Hostname, n.Spec, v2)
		}
	}
	if got := f.names(nodes); got != "demo-w-6,demo-w-7,demo-w-8" || f.calls["CreateTags"] != 0 {
		t.Errorf("after the roll: Name tags %s with %d CreateTags; want each node's name, set at launch", got, f.calls["CreateTags"])
	}

	// Delete: every node terminated, the key pair deleted, the managed group kept.
	f.journal = nil
	if err := c.DeletePool(ctx, "demo", "w"); err != nil {
		t.Fatal(err)
	}
	if rest, _ := c.ReadPool(ctx, "demo", "w"); len(rest) != 0 {
		t.Errorf("after delete %d nodes live", len(rest))
	}
	if _, ok := f.keyPairs["ec2k8s-demo-w"]; ok || f.groupID == "" {
		t.Errorf("after delete: key pairs %v, group %q; want no key pair and the group kept", f.keyPairs, f.groupID)
	}
}

// TestReconcile_renamesWithoutReplacing: a node renamed in the console, or left unnamed by a
// killed run, is named again; nothing is launched or terminated.
func TestReconcile_renamesWithoutReplacing(t *testing.T) {
	f := newPoolFake()
	c := &Client{EC2: f, Poll: time.Millisecond}
	nodes, next := reconcile(t, c, testPool(3, "v1"), nil)
	victim := f.instances[nodes[1].InstanceID]
	victim.Tags = slices.DeleteFunc(victim.Tags, func(t types.Tag) bool { return aws.ToString(t.Key) == TagName })
	victim.Tags = append(victim.Tags, types.Tag{Key: aws.String(TagName), Value: aws.String("renamed-in-console")})
	current, err := c.ReadPool(context.Background(), "demo", "w")
	if err != nil {
		t.Fatal(err)
	}
	if current[1].Name != "renamed-in-console" || current[1].Hostname != "demo-w-2" {
		t.Fatalf("read back %q named %q; the name must come from the prefix and index tags", current[1].Hostname, current[1].Name)
	}
	f.journal = nil
	f.calls["CreateTags"] = 0
	nodes, _ = reconcile(t, c, withNext(testPool(3, "v1"), next), current)
	if got := f.names(nodes); got != "demo-w-1,demo-w-2,demo-w-3" {
		t.Errorf("Name tags = %s", got)
	}
	if len(f.journal) != 0 || f.calls["CreateTags"] != 1 {
		t.Errorf("journal %q, %d CreateTags; want no launch or termination and one CreateTags", f.journal, f.calls["CreateTags"])
	}
}

// TestReconcile_namingIsBounded: a launch of many nodes names them concurrently, never with more
// CreateTags calls in flight than the client's bound (EC2 throttles bursts of mutating calls).
func TestReconcile_namingIsBounded(t *testing.T) {
	for _, bound := range []int{2, 4} {
		f := newPoolFake()
		f.tagBarrier = int32(bound) + 1 // one more than allowed: reached only by a client that exceeds its bound
		c := &Client{EC2: f, Poll: time.Millisecond, Concurrency: bound}
		nodes, _ := reconcile(t, c, testPool(12, "v1"), nil)
		if len(nodes) != 12 || f.calls["CreateTags"] != 12 {
			t.Fatalf("bound %d: %d nodes, %d CreateTags; want 12 and 12", bound, len(nodes), f.calls["CreateTags"])
		}
		if got := int(f.maxTagging.Load()); got != bound {
			t.Errorf("bound %d: at most %d CreateTags in flight; want exactly the bound (concurrent, and no more)", bound, got)
		}
	}
}

// TestReconcile_namingFailureIsAWarning: the nodes exist and work; a failed CreateTags is
// reported, not an error that would lose them.
func TestReconcile_namingFailureIsAWarning(t *testing.T) {
	f := newPoolFake()
	f.failTags = &apiError{code: "UnauthorizedOperation", msg: "You are not authorized to perform: ec2:CreateTags"}
	c := &Client{EC2: f, Poll: time.Millisecond, Retry: Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}}
	out, err := c.Reconcile(context.Background(), testPool(3, "v1"), nil)
	if err != nil {
		t.Fatalf("Reconcile failed: %v", err)
	}
	if len(out.Nodes) != 3 || len(out.Warnings) != 3 {
		t.Fatalf("%d nodes, warnings %v; want 3 nodes and a warning for each", len(out.Nodes), out.Warnings)
	}
	if !strings.Contains(out.Warnings[0].Error(), "naming demo-w-1") || !strings.Contains(out.Warnings[0].Error(), "ec2:CreateTags") {
		t.Errorf("warning = %v", out.Warnings[0])
	}
}

// TestEnsureKeyPair: a key pair only with a public key; a new key replaces it; a key that
// differs only in its comment is the same; no key deletes it.
func TestEnsureKeyPair(t *testing.T) {
	ctx := context.Background()
	f := newPoolFake()
	c := &Client{EC2: f}
	p := testPool(1, "v1")
	p.PublicKey = ""
	if err := c.EnsureKeyPair(ctx, p); err != nil || len(f.keyPairs) != 0 {
		t.Fatalf("without a public key: err %v, key pairs %v; want none", err, f.keyPairs)
	}
	p.PublicKey = testPublicKey
	if err := c.EnsureKeyPair(ctx, p); err != nil || f.keyPairs["ec2k8s-demo-w"] != testPublicKey {
		t.Fatalf("with a public key: err %v, key pairs %v", err, f.keyPairs)
	}
	f.journal = nil
	p.PublicKey = strings.TrimSuffix(testPublicKey, " pool-test") + " another-comment"
	if err := c.EnsureKeyPair(ctx, p); err != nil || len(f.journal) != 0 {
		t.Fatalf("same key, other comment: err %v, journal %q; want nothing done", err, f.journal)
	}
	other := publicKey(2)
	p.PublicKey = other
	if err := c.EnsureKeyPair(ctx, p); err != nil || f.keyPairs["ec2k8s-demo-w"] != other {
		t.Fatalf("new key: err %v, key pairs %v", err, f.keyPairs)
	}
	if want := "delete-key ec2k8s-demo-w|import-key ec2k8s-demo-w"; strings.Join(f.journal, "|") != want {
		t.Errorf("journal = %q; want %q", f.journal, want)
	}
	p.PublicKey = ""
	if err := c.EnsureKeyPair(ctx, p); err != nil || len(f.keyPairs) != 0 {
		t.Fatalf("key removed: err %v, key pairs %v; want none", err, f.keyPairs)
	}
}

func TestLaunch_capacityErrorIsClearAndLaunchesNothing(t *testing.T) {
	f := newPoolFake()
	f.failRun = &apiError{code: "InsufficientInstanceCapacity", msg: "We currently do not have sufficient t3.medium capacity"}
	c := &Client{EC2: f, Poll: time.Millisecond}
	_, err := c.Reconcile(context.Background(), testPool(3, "v1"), nil)
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
	nodes, _ := reconcile(t, c, testPool(4, "v1"), nil)
	if len(nodes) != 4 {
		t.Fatalf("%d nodes; want 4", len(nodes))
	}
	for _, n := range nodes {
		if n.State != "running" {
			t.Errorf("node %s is %s", n.Hostname, n.State)
		}
	}
	// 3 polls see nothing, 2 see them pending, the 6th sees them running: one call per poll.
	// Plus one to find the server the nodes join through.
	if got := f.calls["DescribeInstances"]; got != 7 {
		t.Errorf("DescribeInstances calls = %d; want 7 (one for the join server, one per poll for the whole launch)", got)
	}
}

// TestReservedTags_coversLaunchTags: the room ValidateTags leaves the template is what the
// provider's own tags need, Name included, and one to spare; each of them is one ValidateTags
// refuses in a template.
func TestReservedTags_coversLaunchTags(t *testing.T) {
	p := testPool(1, "v1")
	p.Spec.Launch.Tags = nil
	tags := launchTags(p, "hash", "token", 1, 1)
	if n := len(tags); n+1 != ReservedTags {
		t.Errorf("the provider sets %d tags on a node; ReservedTags is %d, want %d (one to spare)", n, ReservedTags, n+1)
	}
	for k := range tags {
		if errs := ValidateTags(map[string]string{k: "x"}); len(errs) == 0 {
			t.Errorf("a template may set %q, which the provider sets itself", k)
		}
	}
}

// TestLeaving: reconciling takes nodes away when there are more than the quantity, or nodes of
// another spec to replace (at most the quantity of them); not when the pool grows or stays.
func TestLeaving(t *testing.T) {
	p := Pool{}
	hash, err := p.Spec.Hash()
	if err != nil {
		t.Fatal(err)
	}
	node := func(spec string) Node { return Node{Spec: spec} }
	for _, tc := range []struct {
		name              string
		quantity          int
		current           []Node
		replaced, removed int
	}{
		{"as planned", 2, []Node{node(hash), node(hash)}, 0, 0},
		{"scale up", 3, []Node{node(hash), node(hash)}, 0, 0},
		{"from nothing", 2, nil, 0, 0},
		{"scale down", 1, []Node{node(hash), node(hash)}, 0, 1},
		{"one to replace", 2, []Node{node(hash), node("old")}, 1, 0},
		{"drifted, scaling up", 3, []Node{node("drift")}, 1, 0},
		{"all old, scaling down", 1, []Node{node("old"), node("old"), node("old")}, 1, 2},
		{"to zero", 0, []Node{node("old"), node(hash)}, 0, 2},
		{"the old one is the surplus", 2, []Node{node(hash), node(hash), node("old")}, 0, 1},
		{"two old, one surplus", 2, []Node{node(hash), node("old"), node("old")}, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.Quantity = tc.quantity
			replaced, removed, err := Leaving(p, tc.current)
			if err != nil || replaced != tc.replaced || removed != tc.removed {
				t.Errorf("Leaving = %d replaced, %d removed (%v); want %d, %d", replaced, removed, err, tc.replaced, tc.removed)
			}
		})
	}
}
