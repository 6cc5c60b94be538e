package contract

import (
	"context"
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// These tests hold the provisioning client to EC2's documented limits and error semantics, each
// through the strict proxy, which answers as EC2 does where moto does not. Each fails against
// a client that ignores the rule.

// quickRetry keeps the client's own waits short in tests.
var quickRetry = provisioning.Retry{Attempts: 8, Base: 20 * time.Millisecond, Max: 200 * time.Millisecond}

// strictClient is a provisioning client through url (the strict proxy, or a fault proxy in
// front of it).
func strictClient(t *testing.T, url string) *provisioning.Client {
	t.Helper()
	c := faultClient(t, url)
	c.Retry = quickRetry
	return c
}

// directEC2 reaches moto without the strict proxy, to check its state or to act as another
// party whose requests the proxy must not see.
func directEC2(m *acctest.Moto) *ec2.Client { return acctest.DirectEC2(m, "us-west-2") }

// states returns the state of each instance, as moto has it.
func states(t *testing.T, m *acctest.Moto, ids []string) map[string]string {
	t.Helper()
	out, err := directEC2(m).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			got[aws.ToString(i.InstanceId)] = string(i.State.Name)
		}
	}
	return got
}

func launchRaw(t *testing.T, c *ec2.Client, subnet string, n int) []string {
	t.Helper()
	out, err := c.RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: aws.String(acctest.UbuntuNobleAMD64),
		InstanceType: types.InstanceTypeT3Medium, MinCount: aws.Int32(int32(n)), MaxCount: aws.Int32(int32(n)), SubnetId: aws.String(subnet)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, i := range out.Instances {
		ids = append(ids, aws.ToString(i.InstanceId))
	}
	return ids
}

func fired(m *acctest.Moto, rule string) int { return m.Strict.Fired()[rule] }

// TestEC2_filterValuesChunkedAt200: EC2 takes at most 200 values in a filter. A pool of 205
// nodes is launched, waited for and terminated with every ID filter chunked.
func TestEC2_filterValuesChunkedAt200(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	pool := faultPool(t, c, "big")
	seedServers(t, c, pool)
	pool.Quantity = 205
	nodes, _, err := reconcile(context.Background(), c, pool, nil)
	if err != nil {
		t.Fatalf("launching 205 nodes: %v", err)
	}
	if len(nodes) != 205 {
		t.Fatalf("%d nodes; want 205", len(nodes))
	}
	if err := c.DeletePool(context.Background(), pool.Cluster, pool.Name); err != nil {
		t.Fatalf("deleting 205 nodes: %v", err)
	}
	if _, live := everLaunched(t, m, "big"); live != 0 {
		t.Errorf("%d nodes left", live)
	}
	if n := fired(m, acctest.RuleFilterValues); n != 0 {
		t.Errorf("EC2 refused %d requests for too many filter values", n)
	}
}

// terminated runs TerminateAndWait on ids, checks that moto has them terminated, and that the
// strict proxy's rule fired on the way (else the test proves nothing).
func terminated(t *testing.T, m *acctest.Moto, ids, extra []string, rule string) {
	t.Helper()
	c := strictClient(t, m.URL)
	before := fired(m, rule)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.TerminateAndWait(ctx, "test/pool", append(slices.Clone(ids), extra...)); err != nil {
		t.Fatalf("TerminateAndWait: %v", err)
	}
	for id, state := range states(t, m, ids) {
		if state != "terminated" {
			t.Errorf("%s is %s after TerminateAndWait; want terminated", id, state)
		}
	}
	if fired(m, rule) == before {
		t.Errorf("the strict proxy's %s never fired: the test proves nothing", rule)
	}
}

// TestEC2_terminateWithAnUnknownID: one ID EC2 does not know fails the whole call and
// terminates none; the client terminates the others and judges by the outcome.
func TestEC2_terminateWithAnUnknownID(t *testing.T) {
	m := acctest.SharedMoto(t)
	ids := launchRaw(t, acctest.EC2(m, "us-west-2"), acctest.DefaultSubnet(t, directEC2(m), "us-west-2a"), 2)
	terminated(t, m, ids, []string{"i-0123456789abcdef0"}, acctest.RuleTerminateUnknown)
}

// TestEC2_terminateRightAfterLaunch: right after a launch EC2 may not know the new instances
// (InvalidInstanceID.NotFound), which does not mean they are gone.
func TestEC2_terminateRightAfterLaunch(t *testing.T) {
	m := acctest.SharedMoto(t)
	m.Strict.SetLag(3)
	ids := launchRaw(t, acctest.EC2(m, "us-west-2"), acctest.DefaultSubnet(t, directEC2(m), "us-west-2a"), 2)
	terminated(t, m, ids, nil, acctest.RuleLag)
}

// TestEC2_ingressRulesNormalisedAndDeduplicated: open_ports repeating a managed rule and SSH
// CIDRs that are the same network must not reach EC2 twice in one request.
func TestEC2_ingressRulesNormalisedAndDeduplicated(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	pool := faultPool(t, c, "dedup")
	pool.Groups = provisioning.GroupSettings{OpenPorts: []string{"443", "30000-32767/udp", "8443"}, SSHCIDRBlocks: []string{"10.1.2.3/8", "10.0.0.0/8"}}
	if _, err := c.EnsureSecurityGroups(context.Background(), pool); err != nil {
		t.Fatalf("EnsureSecurityGroups: %v", err)
	}
	if n := fired(m, acctest.RuleIngressRepeated); n != 0 {
		t.Errorf("EC2 refused %d ingress requests that repeated a permission", n)
	}
	rules := managedRules(t, m)
	for _, want := range []string{"tcp 22-22 10.0.0.0/8", "tcp 8443-8443 0.0.0.0/0", "tcp 443-443 0.0.0.0/0"} {
		if !slices.Contains(rules, want) {
			t.Errorf("rule %q missing from %v", want, rules)
		}
	}
	// Again: everything is there, nothing is sent.
	if _, err := c.EnsureSecurityGroups(context.Background(), pool); err != nil {
		t.Fatalf("second EnsureSecurityGroups: %v", err)
	}
	if n := fired(m, acctest.RuleIngressDuplicate); n != 0 {
		t.Errorf("the second pass sent rules the group has (%d refused)", n)
	}
}

// managedRules lists rancher-nodes' inbound rules in the default VPC, as moto has them.
func managedRules(t *testing.T, m *acctest.Moto) []string {
	t.Helper()
	out, err := directEC2(m).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("group-name"), Values: []string{provisioning.ManagedSecurityGroup}}}})
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, g := range out.SecurityGroups {
		for _, p := range g.IpPermissions {
			ports := fmt.Sprintf("%s %d-%d", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort))
			for _, r := range p.IpRanges {
				rules = append(rules, ports+" "+aws.ToString(r.CidrIp))
			}
			for _, r := range p.UserIdGroupPairs {
				rules = append(rules, ports+" group "+aws.ToString(r.GroupId))
			}
		}
	}
	return rules
}

// TestEC2_ingressDuplicateFromAnotherPool: another pool adds a rule between this pool's read of
// the group and its AuthorizeSecurityGroupIngress. EC2 then refuses the whole request
// (InvalidPermission.Duplicate) and adds none of its rules: the client reads the group again and
// adds what is still missing.
func TestEC2_ingressDuplicateFromAnotherPool(t *testing.T) {
	m, proxy, c, pool := proxiedPool(t, strictClient, "racer")
	// The group exists with one rule; right after this pool reads it, "another pool" adds 80/tcp.
	g, err := directEC2(m).CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{VpcId: aws.String(pool.Spec.Launch.VPCID),
		GroupName: aws.String(provisioning.ManagedSecurityGroup), Description: aws.String("made by another pool")})
	if err != nil {
		t.Fatal(err)
	}
	other := func(port int32) {
		if _, err := directEC2(m).AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId,
			IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
				IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
			t.Error(err)
		}
	}
	other(6443)
	once := true
	proxy.OnAnswer("DescribeSecurityGroups", func() {
		if once {
			once = false
			other(80)
		}
	})
	before := fired(m, acctest.RuleIngressDuplicate)
	if _, err := c.EnsureSecurityGroups(context.Background(), pool); err != nil {
		t.Fatalf("EnsureSecurityGroups: %v", err)
	}
	if fired(m, acctest.RuleIngressDuplicate) == before {
		t.Fatal("EC2 never refused a duplicate: the test proves nothing")
	}
	rules := managedRules(t, m)
	for _, r := range provisioning.ManagedRules(nil, nil) {
		want := fmt.Sprintf("%s %d-%d %s", r.Protocol, r.From, r.To, r.CIDR)
		if r.CIDR == "" {
			want = fmt.Sprintf("%s %d-%d group %s", r.Protocol, r.From, r.To, aws.ToString(g.GroupId))
		}
		if !slices.Contains(rules, want) {
			t.Errorf("after the race the group lacks %q (it has %v)", want, rules)
		}
	}
}

// TestEC2_ruleQuota: a group that would exceed the account's rule quota fails with the counts
// and what to do, not EC2's bare code.
func TestEC2_ruleQuota(t *testing.T) {
	m := acctest.SharedMoto(t)
	m.Strict.RuleQuota.Store(20)
	c := strictClient(t, m.URL)
	pool := faultPool(t, c, "quota")
	for i := range 8 {
		pool.Groups.SSHCIDRBlocks = append(pool.Groups.SSHCIDRBlocks, fmt.Sprintf("10.%d.0.0/16", i))
	}
	_, err := c.EnsureSecurityGroups(context.Background(), pool)
	if err == nil {
		t.Fatal("EnsureSecurityGroups passed a group over the quota")
	}
	for _, want := range []string{"would hold 23 inbound IPv4 and 10 IPv6 rules", "ssh_cidr_blocks", "Inbound or outbound rules per security group", "RulesPerSecurityGroupLimitExceeded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// TestEC2_eventualConsistency: right after the pool creates its security group, key pair and
// instances, EC2 does not know them for a while (InvalidGroup.NotFound, InvalidKeyPair.NotFound,
// InvalidInstanceID.NotFound, empty Describe answers). The pool is made anyway, once.
func TestEC2_eventualConsistency(t *testing.T) {
	m := acctest.SharedMoto(t)
	m.Strict.SetLag(2)
	c := strictClient(t, m.URL)
	// An etcd pool that starts the cluster: it makes the group and the key pair itself, and its
	// joining nodes look for the init node by tags, all while EC2 lags.
	pool := rolePool(t, c, "lagging", 3, provisioning.Roles{Etcd: true})
	before := fired(m, acctest.RuleLag)
	nodes, _, err := reconcile(context.Background(), c, pool, nil)
	if err != nil {
		t.Fatalf("creating a pool while EC2 catches up: %v", err)
	}
	if len(nodes) != 3 {
		t.Fatalf("%d nodes; want 3", len(nodes))
	}
	if total, _ := everLaunched(t, m, "lagging"); total != 3 {
		t.Errorf("%d instances made; want 3", total)
	}
	if fired(m, acctest.RuleLag) == before {
		t.Error("EC2 never lagged: the test proves nothing")
	}
	// Each kind of resource made by this create lagged, and the client waited each one out.
	answers := m.Strict.Answers() // this create's alone: the proxy was reset with moto
	t.Logf("the lagging EC2 answered: %v", answers)
	for _, code := range []string{"InvalidGroup.NotFound", "InvalidKeyPair.NotFound"} {
		if answers[code] == 0 {
			t.Errorf("EC2 never answered %s: the test does not show the client retrying it", code)
		}
	}
	if answers["InvalidInstanceID.NotFound"]+answers["empty DescribeInstances"] == 0 {
		t.Error("new instances never lagged: the test does not show the client waiting for them")
	}
	if err := c.DeletePool(context.Background(), pool.Cluster, pool.Name); err != nil {
		t.Fatal(err)
	}
}

// TestEC2_concurrentCreatorOfTheGroup: another pool created rancher-nodes a moment ago. This
// pool does not see it yet, tries to create it (InvalidGroup.Duplicate), and must wait until
// EC2 lists it rather than fail.
func TestEC2_concurrentCreatorOfTheGroup(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	pool := faultPool(t, c, "second")
	g, err := directEC2(m).CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{VpcId: aws.String(pool.Spec.Launch.VPCID),
		GroupName: aws.String(provisioning.ManagedSecurityGroup), Description: aws.String("made by another pool")})
	if err != nil {
		t.Fatal(err)
	}
	m.Strict.Hide(provisioning.ManagedSecurityGroup, 3)
	m.Strict.Hide(aws.ToString(g.GroupId), 3)
	ids, err := c.EnsureSecurityGroups(context.Background(), pool)
	if err != nil {
		t.Fatalf("EnsureSecurityGroups: %v", err)
	}
	if len(ids) != 1 || ids[0] != aws.ToString(g.GroupId) {
		t.Errorf("groups %v; want the other pool's %s", ids, aws.ToString(g.GroupId))
	}
}

// TestEC2_terminatedAtLaunchSaysWhy: instances that go from pending to terminated (a KMS key
// the credential cannot use, say) fail the launch with EC2's reason for each.
func TestEC2_terminatedAtLaunchSaysWhy(t *testing.T) {
	m, proxy, c, pool := proxiedPool(t, strictClient, "doomed")
	seedServers(t, c, pool)
	pool.Quantity = 2
	running := regexp.MustCompile(`<instanceState>\s*<code>16</code>\s*<name>running</name>\s*</instanceState>`)
	proxy.Rewrite("DescribeInstances", func(b []byte) []byte {
		return running.ReplaceAll(b, []byte(`<instanceState><code>48</code><name>terminated</name></instanceState>`+
			`<stateReason><code>Client.InternalError</code><message>Client.InternalError: Client error on launch</message></stateReason>`))
	})
	_, err := c.Reconcile(context.Background(), pool, nil)
	if err == nil {
		t.Fatal("a launch whose instances terminated succeeded")
	}
	_, live := everLaunched(t, m, "doomed")
	if live != 2 {
		t.Fatalf("moto has %d live instances; the rewrite should leave 2", live)
	}
	if n := strings.Count(err.Error(), "went from pending to terminated: Client.InternalError: Client.InternalError: Client error on launch"); n != 2 {
		t.Errorf("error gives EC2's reason for %d of 2 instances: %v", n, err)
	}
}

// TestEC2_userDataOver16KiB: user data over EC2's 16 KiB is refused before RunInstances, with
// the sizes.
func TestEC2_userDataOver16KiB(t *testing.T) {
	_, proxy, c, pool := proxiedPool(t, strictClient, "big-data")
	pool.Quantity = 1
	pool.Spec.Boot.Labels = map[string]string{}
	// Random values: gzip cannot make them fit.
	rnd := mrand.New(mrand.NewSource(1))
	for i := range 700 {
		b := make([]byte, 30)
		rnd.Read(b)
		pool.Spec.Boot.Labels[fmt.Sprintf("example.com/label-%03d", i)] = hex.EncodeToString(b)
	}
	_, err := c.Reconcile(context.Background(), pool, nil)
	if err == nil || !strings.Contains(err.Error(), "even gzip-compressed; EC2 accepts at most 16384 (16 KiB) before base64") {
		t.Fatalf("error = %v; want one naming the size and the limit", err)
	}
	if n := proxy.Count("RunInstances"); n != 0 {
		t.Errorf("%d RunInstances reached EC2; the size must be checked before", n)
	}
}

// TestEC2_metadataTagsOff: nodes launch with instance tags kept out of the metadata, whatever
// the account's default (here: enabled), so tag keys with '/' (kubernetes.io/cluster/<name>)
// are accepted.
func TestEC2_metadataTagsOff(t *testing.T) {
	m := acctest.SharedMoto(t)
	m.Strict.MetadataTagsByDefault.Store(true)
	c := strictClient(t, m.URL)
	pool := faultPool(t, c, "imds")
	seedServers(t, c, pool)
	pool.Quantity = 1
	pool.Spec.Launch.Tags = map[string]string{"cost center/team": "platform"}
	nodes, _, err := reconcile(context.Background(), c, pool, nil)
	if err != nil {
		t.Fatalf("launching: %v", err)
	}
	out, err := directEC2(m).DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{nodes[0].InstanceID}})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Reservations[0].Instances[0].MetadataOptions.InstanceMetadataTags; got != types.InstanceMetadataTagsStateDisabled {
		t.Errorf("InstanceMetadataTags = %q; want disabled", got)
	}
}
