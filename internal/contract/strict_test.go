package contract

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"golang.org/x/crypto/ssh"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// strictBed is one test's view of the shared moto: a client through the strict proxy, one
// straight to moto for checking its state without meeting the proxy's rules, and the default
// network.
type strictBed struct {
	m           *acctest.Moto
	c, direct   *ec2.Client
	vpc, subnet string
	ctx         context.Context
	firedBefore map[string]int
}

func newStrictBed(t *testing.T) *strictBed {
	t.Helper()
	m := acctest.SharedMoto(t)
	b := &strictBed{m: m, c: acctest.EC2(m, "us-west-2"), ctx: context.Background(),
		direct: ec2.New(ec2.Options{Region: "us-west-2", BaseEndpoint: aws.String(m.DirectURL),
			Credentials: credentials.NewStaticCredentialsProvider(acctest.AccessKey, acctest.SecretKey, "")})}
	b.vpc = acctest.DefaultVPC(t, b.direct)
	b.subnet = acctest.DefaultSubnet(t, b.direct, "us-west-2a")
	return b
}

// refused asserts that err is the EC2 error code and that rule fired once more for it.
func (b *strictBed) refused(t *testing.T, err error, code, rule string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error = %v; want %s", err, code)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("error code = %s (%s); want %s", apiErr.ErrorCode(), apiErr.ErrorMessage(), code)
	}
	b.firedOnce(t, rule)
}

// firedOnce asserts that rule fired exactly once since the last call.
func (b *strictBed) firedOnce(t *testing.T, rule string) {
	t.Helper()
	if b.firedBefore == nil {
		b.firedBefore = map[string]int{}
	}
	got := b.m.Strict.Fired()[rule]
	if got != b.firedBefore[rule]+1 {
		t.Fatalf("%s fired %d times; want %d", rule, got, b.firedBefore[rule]+1)
	}
	b.firedBefore[rule] = got
}

func (b *strictBed) group(t *testing.T, name string) string {
	t.Helper()
	g, err := b.direct.CreateSecurityGroup(b.ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(b.vpc), GroupName: aws.String(name), Description: aws.String("strict proxy test")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(g.GroupId)
}

// rules lists a group's inbound rules as moto has them, one per source.
func (b *strictBed) rules(t *testing.T, sg string) []string {
	t.Helper()
	out, err := b.direct.DescribeSecurityGroups(b.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sg}})
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		ports := fmt.Sprintf("%s %d-%d", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort))
		for _, r := range p.IpRanges {
			rules = append(rules, ports+" "+aws.ToString(r.CidrIp))
		}
		for _, r := range p.Ipv6Ranges {
			rules = append(rules, ports+" "+aws.ToString(r.CidrIpv6))
		}
		for _, g := range p.UserIdGroupPairs {
			rules = append(rules, ports+" "+aws.ToString(g.GroupId))
		}
	}
	slices.Sort(rules)
	return rules
}

func (b *strictBed) authorize(sg string, perms ...types.IpPermission) error {
	_, err := b.c.AuthorizeSecurityGroupIngress(b.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg), IpPermissions: perms})
	return err
}

// launch is a minimal RunInstances of one instance in the default subnet.
func (b *strictBed) launch(edit func(*ec2.RunInstancesInput)) (*ec2.RunInstancesOutput, error) {
	in := &ec2.RunInstancesInput{ImageId: aws.String(acctest.UbuntuNobleAMD64), InstanceType: types.InstanceTypeT3Medium,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(b.subnet)}
	if edit != nil {
		edit(in)
	}
	return b.c.RunInstances(b.ctx, in)
}

// instances returns the state of every instance moto ever made, by ID.
func (b *strictBed) instances(t *testing.T) map[string]types.InstanceStateName {
	t.Helper()
	out, err := b.direct.DescribeInstances(b.ctx, &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]types.InstanceStateName{}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			states[aws.ToString(i.InstanceId)] = i.State.Name
		}
	}
	return states
}

func tcp(port int32, cidrs ...string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range cidrs {
		if strings.Contains(c, ":") {
			p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c)})
		} else {
			p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c)})
		}
	}
	return p
}

func fromGroup(sg string) types.IpPermission {
	return types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: aws.String(sg)}}}
}

func fakeInstanceIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-0%016x", i+1)
	}
	return ids
}

// TestStrict_filterValues: EC2 takes at most 200 values in one filter; moto takes any number.
func TestStrict_filterValues(t *testing.T) {
	b := newStrictBed(t)
	describe := func(n int) error {
		_, err := b.c.DescribeInstances(b.ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
			{Name: aws.String("instance-state-name"), Values: []string{"running"}},
			{Name: aws.String("instance-id"), Values: fakeInstanceIDs(n)},
		}})
		return err
	}
	// The call counts: 200 instance IDs and one state are 201 values.
	b.refused(t, describe(200), "FilterLimitExceeded", acctest.RuleFilterValues)
	if err := describe(199); err != nil {
		t.Fatalf("200 filter values: %v", err)
	}
}

// TestStrict_ingressRepeated: naming one permission twice in a request is refused whole; moto
// adds the first and fails on the second.
func TestStrict_ingressRepeated(t *testing.T) {
	b := newStrictBed(t)
	sg := b.group(t, "repeated")
	again := tcp(443, "10.0.0.0/8", "192.168.0.0/16")
	again.IpProtocol = aws.String("6") // the same protocol, by number
	b.refused(t, b.authorize(sg, tcp(443, "10.0.0.0/8"), again), "InvalidParameterValue", acctest.RuleIngressRepeated)
	if got := b.rules(t, sg); len(got) != 0 {
		t.Fatalf("after the refused request the group has %v; want no rules", got)
	}
	if err := b.authorize(sg, tcp(443, "10.0.0.0/8", "192.168.0.0/16")); err != nil {
		t.Fatal(err)
	}
	if got := b.rules(t, sg); len(got) != 2 {
		t.Fatalf("group has %v; want the 2 rules", got)
	}
}

// TestStrict_ingressDuplicate: one rule of a request that the group already has fails the
// whole request, and the error names the rule; moto adds the rules before it.
func TestStrict_ingressDuplicate(t *testing.T) {
	b := newStrictBed(t)
	sg := b.group(t, "duplicate")
	if err := b.authorize(sg, tcp(80, "0.0.0.0/0"), fromGroup(sg)); err != nil {
		t.Fatal(err)
	}
	before := b.rules(t, sg)
	http80 := tcp(80, "0.0.0.0/0")
	http80.IpProtocol = aws.String("TCP")
	err := b.authorize(sg, tcp(22, "10.0.0.0/8"), http80, tcp(443, "::/0"))
	b.refused(t, err, "InvalidPermission.Duplicate", acctest.RuleIngressDuplicate)
	if want := `the specified rule "peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW" already exists`; !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v; want it to say %s", err, want)
	}
	err = b.authorize(sg, tcp(22, "10.0.0.0/8"), fromGroup(sg))
	b.refused(t, err, "InvalidPermission.Duplicate", acctest.RuleIngressDuplicate)
	if want := fmt.Sprintf(`"peer: %s, ALL, ALLOW"`, sg); !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v; want it to name %s", err, want)
	}
	if got := b.rules(t, sg); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("after the refused requests the group has %v; want %v", got, before)
	}
	if err := b.authorize(sg, tcp(22, "10.0.0.0/8"), tcp(443, "::/0")); err != nil {
		t.Fatal(err)
	}
	if got := b.rules(t, sg); len(got) != len(before)+2 {
		t.Fatalf("group has %v; want 2 rules more than %v", got, before)
	}
}

// TestStrict_ingressQuota: the quota of inbound rules holds per address family, a group source
// counting for both; moto counts both families together.
func TestStrict_ingressQuota(t *testing.T) {
	b := newStrictBed(t)
	b.m.Strict.RuleQuota.Store(5)
	sg := b.group(t, "quota")
	// IPv4: 3 rules, IPv6: 1.
	if err := b.authorize(sg, tcp(22, "10.0.0.0/8", "10.1.0.0/16"), fromGroup(sg)); err != nil {
		t.Fatal(err)
	}
	// IPv6 reaches 5, IPv4 stays at 3.
	if err := b.authorize(sg, tcp(443, "2001:db8::/32", "2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:3::/48")); err != nil {
		t.Fatalf("IPv6 rules up to the quota: %v", err)
	}
	before := b.rules(t, sg)
	b.refused(t, b.authorize(sg, tcp(80, "10.2.0.0/16", "10.3.0.0/16", "10.4.0.0/16")), "RulesPerSecurityGroupLimitExceeded", acctest.RuleIngressQuota)
	b.refused(t, b.authorize(sg, tcp(8443, "2001:db8:4::/48")), "RulesPerSecurityGroupLimitExceeded", acctest.RuleIngressQuota)
	if got := b.rules(t, sg); strings.Join(got, ",") != strings.Join(before, ",") {
		t.Fatalf("after the refused requests the group has %v; want %v", got, before)
	}
	if err := b.authorize(sg, tcp(80, "10.2.0.0/16", "10.3.0.0/16")); err != nil {
		t.Fatalf("IPv4 rules up to the quota: %v", err)
	}
	other := b.group(t, "quota-peer")
	b.refused(t, b.authorize(sg, fromGroup(other)), "RulesPerSecurityGroupLimitExceeded", acctest.RuleIngressQuota)

	// EC2's default quota, 60.
	b.m.Strict.RuleQuota.Store(acctest.DefaultRuleQuota)
	wide := b.group(t, "quota-default")
	var cidrs []string
	for i := range 61 {
		cidrs = append(cidrs, fmt.Sprintf("10.%d.0.0/16", i))
	}
	b.refused(t, b.authorize(wide, tcp(80, cidrs...)), "RulesPerSecurityGroupLimitExceeded", acctest.RuleIngressQuota)
	if err := b.authorize(wide, tcp(80, cidrs[:60]...)); err != nil {
		t.Fatalf("60 rules: %v", err)
	}
}

// TestStrict_metadataTagKeys: with instance tags in instance metadata, EC2 refuses a launch
// whose instance tag keys do not fit a metadata path; moto launches.
func TestStrict_metadataTagKeys(t *testing.T) {
	b := newStrictBed(t)
	withTags := func(metadataTags types.InstanceMetadataTagsState, keys ...string) func(*ec2.RunInstancesInput) {
		return func(in *ec2.RunInstancesInput) {
			spec := types.TagSpecification{ResourceType: types.ResourceTypeInstance}
			for _, k := range keys {
				spec.Tags = append(spec.Tags, types.Tag{Key: aws.String(k), Value: aws.String("v")})
			}
			in.TagSpecifications = []types.TagSpecification{spec}
			in.MetadataOptions = &types.InstanceMetadataOptionsRequest{InstanceMetadataTags: metadataTags}
		}
	}
	for _, bad := range []string{provisioning.ClusterTag("demo"), "has space", "_index", ".."} {
		_, err := b.launch(withTags(types.InstanceMetadataTagsStateEnabled, provisioning.TagName, bad))
		b.refused(t, err, "InvalidParameterValue", acctest.RuleMetadataTagKeys)
		if !strings.Contains(err.Error(), "'"+bad+"'") {
			t.Errorf("error = %v; want it to name %q", err, bad)
		}
	}
	if got := b.instances(t); len(got) != 0 {
		t.Fatalf("refused launches made %d instances", len(got))
	}
	if _, err := b.launch(withTags(types.InstanceMetadataTagsStateEnabled, provisioning.TagName, provisioning.TagCluster, "a+b-c=d.e,f_g@h")); err != nil {
		t.Fatalf("metadata-safe keys: %v", err)
	}
	if _, err := b.launch(withTags(types.InstanceMetadataTagsStateDisabled, provisioning.ClusterTag("demo"))); err != nil {
		t.Fatalf("a slash without metadata tags: %v", err)
	}
	// An account whose default is enabled: a launch that does not say is refused.
	b.m.Strict.MetadataTagsByDefault.Store(true)
	_, err := b.launch(withTags("", provisioning.ClusterTag("demo")))
	b.refused(t, err, "InvalidParameterValue", acctest.RuleMetadataTagKeys)
	if _, err := b.launch(withTags(types.InstanceMetadataTagsStateDisabled, provisioning.ClusterTag("demo"))); err != nil {
		t.Fatalf("explicitly disabled, on an account that enables them by default: %v", err)
	}
}

// TestStrict_userDataSize: EC2 refuses user data over 16 KB (decoded); moto takes any size.
func TestStrict_userDataSize(t *testing.T) {
	b := newStrictBed(t)
	userData := func(n int) func(*ec2.RunInstancesInput) {
		return func(in *ec2.RunInstancesInput) {
			in.UserData = aws.String(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("#", n))))
		}
	}
	_, err := b.launch(userData(16385))
	b.refused(t, err, "InvalidParameterValue", acctest.RuleUserDataSize)
	if !strings.Contains(err.Error(), "User data is limited to 16384 bytes") || !strings.Contains(err.Error(), "16385") {
		t.Errorf("error = %v; want the limit and the size", err)
	}
	if got := b.instances(t); len(got) != 0 {
		t.Fatalf("the refused launch made %d instances", len(got))
	}
	if _, err := b.launch(userData(16384)); err != nil {
		t.Fatalf("16384 bytes of user data: %v", err)
	}
}

// TestStrict_terminateUnknown: one unknown ID fails the whole TerminateInstances and nothing
// is terminated.
func TestStrict_terminateUnknown(t *testing.T) {
	b := newStrictBed(t)
	out, err := b.launch(nil)
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)
	terminate := func(ids ...string) error {
		_, err := b.c.TerminateInstances(b.ctx, &ec2.TerminateInstancesInput{InstanceIds: ids})
		return err
	}
	unknown := fakeInstanceIDs(201)
	err = terminate(id, unknown[0])
	b.refused(t, err, "InvalidInstanceID.NotFound", acctest.RuleTerminateUnknown)
	if want := fmt.Sprintf("The instance ID '%s' does not exist", unknown[0]); !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v; want %q", err, want)
	}
	err = terminate(unknown[0], id, unknown[1])
	b.refused(t, err, "InvalidInstanceID.NotFound", acctest.RuleTerminateUnknown)
	if want := fmt.Sprintf("The instance IDs '%s, %s' do not exist", unknown[0], unknown[1]); !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v; want %q", err, want)
	}
	// More IDs than one filter may hold: the proxy asks moto in chunks.
	b.refused(t, terminate(append([]string{id}, unknown...)...), "InvalidInstanceID.NotFound", acctest.RuleTerminateUnknown)
	if state := b.instances(t)[id]; state != types.InstanceStateNameRunning && state != types.InstanceStateNamePending {
		t.Fatalf("after the refused terminations %s is %s; want it running", id, state)
	}
	if err := terminate(id); err != nil {
		t.Fatal(err)
	}
	if state := b.instances(t)[id]; state != types.InstanceStateNameTerminated && state != types.InstanceStateNameShuttingDown {
		t.Fatalf("%s is %s after its termination", id, state)
	}
}

// TestStrict_clientToken: a repeated launch with the same token gets the first answer and
// launches nothing; with other parameters it is refused; tokens hold at most 64 characters.
func TestStrict_clientToken(t *testing.T) {
	b := newStrictBed(t)
	token := func(tok string) func(*ec2.RunInstancesInput) {
		return func(in *ec2.RunInstancesInput) { in.ClientToken = aws.String(tok) }
	}
	first, err := b.launch(token("strict-token-1"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.launch(token("strict-token-1"))
	if err != nil {
		t.Fatalf("repeated launch: %v", err)
	}
	b.firedOnce(t, acctest.RuleClientTokenReplay)
	if aws.ToString(again.ReservationId) != aws.ToString(first.ReservationId) {
		t.Errorf("the repeat got reservation %s; want the first, %s", aws.ToString(again.ReservationId), aws.ToString(first.ReservationId))
	}
	if got := b.instances(t); len(got) != 1 {
		t.Fatalf("%d instances after a repeated launch; want 1", len(got))
	}
	_, err = b.launch(func(in *ec2.RunInstancesInput) {
		token("strict-token-1")(in)
		in.InstanceType = types.InstanceTypeT3Large
	})
	b.refused(t, err, "IdempotentParameterMismatch", acctest.RuleClientToken)
	_, err = b.launch(token(strings.Repeat("t", 65)))
	b.refused(t, err, "InvalidParameterValue", acctest.RuleClientToken)
	if got := b.instances(t); len(got) != 1 {
		t.Fatalf("%d instances after refused launches; want 1", len(got))
	}

	// Concurrent repeats, as from a client retrying a launch still in flight, launch once.
	var wg sync.WaitGroup
	reservations := make([]string, 5)
	errs := make([]error, 5)
	for i := range reservations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := b.launch(token("strict-token-concurrent"))
			if errs[i] = err; err == nil {
				reservations[i] = aws.ToString(out.ReservationId)
			}
		}()
	}
	wg.Wait()
	for i := range reservations {
		if errs[i] != nil || reservations[i] != reservations[0] {
			t.Fatalf("concurrent repeats: reservation %q, error %v; want %s for all", reservations[i], errs[i], reservations[0])
		}
	}
	if got := b.instances(t); len(got) != 2 {
		t.Fatalf("%d instances after concurrent repeats; want 2", len(got))
	}
	if _, err := b.launch(token("strict-token-2")); err != nil {
		t.Fatal(err)
	}
	if got := b.instances(t); len(got) != 3 {
		t.Fatalf("%d instances after a launch with a new token; want 3", len(got))
	}
}

// TestStrict_lag: with lag on, what was just made stays invisible to the next requests that
// name it, as under EC2's eventual consistency.
func TestStrict_lag(t *testing.T) {
	b := newStrictBed(t)
	b.m.Strict.SetLag(2)

	g, err := b.c.CreateSecurityGroup(b.ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(b.vpc), GroupName: aws.String("lagging"), Description: aws.String("strict proxy test")})
	if err != nil {
		t.Fatal(err)
	}
	sg := aws.ToString(g.GroupId)
	b.refused(t, b.authorize(sg, tcp(22, "10.0.0.0/8")), "InvalidGroup.NotFound", acctest.RuleLag)
	groups, err := b.c.DescribeSecurityGroups(b.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"lagging"}}}})
	if err != nil || len(groups.SecurityGroups) != 0 {
		t.Fatalf("describing a lagging group by filter: %v, %d groups; want none", err, len(groups.SecurityGroups))
	}
	b.firedOnce(t, acctest.RuleLag)
	if err := b.authorize(sg, tcp(22, "10.0.0.0/8")); err != nil {
		t.Fatalf("after the lag: %v", err)
	}

	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.c.ImportKeyPair(b.ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("lagging"), PublicKeyMaterial: ssh.MarshalAuthorizedKey(sshPub)}); err != nil {
		t.Fatal(err)
	}
	withKey := func(in *ec2.RunInstancesInput) { in.KeyName, in.SecurityGroupIds = aws.String("lagging"), []string{sg} }
	_, err = b.launch(withKey)
	b.refused(t, err, "InvalidKeyPair.NotFound", acctest.RuleLag)
	_, err = b.c.DescribeKeyPairs(b.ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"lagging"}})
	b.refused(t, err, "InvalidKeyPair.NotFound", acctest.RuleLag)
	if got := b.instances(t); len(got) != 0 {
		t.Fatalf("a launch refused for lag made %d instances", len(got))
	}
	out, err := b.launch(withKey)
	if err != nil {
		t.Fatalf("after the lag: %v", err)
	}
	id := aws.ToString(out.Instances[0].InstanceId)

	_, err = b.c.TerminateInstances(b.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	b.refused(t, err, "InvalidInstanceID.NotFound", acctest.RuleLag)
	_, err = b.c.CreateTags(b.ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	b.refused(t, err, "InvalidInstanceID.NotFound", acctest.RuleLag)
	if state := b.instances(t)[id]; state != types.InstanceStateNameRunning && state != types.InstanceStateNamePending {
		t.Fatalf("a termination refused for lag left %s %s", id, state)
	}
	if _, err := b.c.CreateTags(b.ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatalf("after the lag: %v", err)
	}

	// Hide registers what already exists; by ID a Describe fails, by filter it finds nothing.
	b.m.Strict.SetLag(0)
	b.m.Strict.Hide(id, 2)
	_, err = b.c.DescribeInstances(b.ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	b.refused(t, err, "InvalidInstanceID.NotFound", acctest.RuleLag)
	byFilter := func() int {
		t.Helper()
		out, err := b.c.DescribeInstances(b.ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{id}}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Reservations)
	}
	if n := byFilter(); n != 0 {
		t.Fatalf("describing a hidden instance by filter found %d reservations", n)
	}
	b.firedOnce(t, acctest.RuleLag)
	if n := byFilter(); n != 1 {
		t.Fatalf("after the lag, describing by filter found %d reservations; want 1", n)
	}
	if _, err := b.c.TerminateInstances(b.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Fatal(err)
	}
}

// TestStrict_resetPassesThrough: a moto reset through the proxy also resets the proxy, and
// STS requests pass untouched.
func TestStrict_resetPassesThrough(t *testing.T) {
	b := newStrictBed(t)
	b.m.Strict.SetLag(5)
	b.m.Strict.Hide("i-0123456789abcdef0", 5)
	_, err := b.c.TerminateInstances(b.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	b.refused(t, err, "InvalidInstanceID.NotFound", acctest.RuleLag)
	resp, err := http.Post(b.m.URL+"/moto-api/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset through the proxy: %s", resp.Status)
	}
	if fired := b.m.Strict.Fired(); len(fired) != 0 {
		t.Errorf("after a reset the proxy still counts %v", fired)
	}
	_, err = b.c.TerminateInstances(b.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidInstanceID.NotFound" || b.m.Strict.Fired()[acctest.RuleTerminateUnknown] != 1 {
		t.Fatalf("after a reset an unknown ID should meet the terminate rule, not lag: %v, %v", err, b.m.Strict.Fired())
	}
	g, err := b.c.CreateSecurityGroup(b.ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(acctest.DefaultVPC(t, b.c)), GroupName: aws.String("after-reset"), Description: aws.String("strict proxy test")})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.authorize(aws.ToString(g.GroupId), tcp(22, "10.0.0.0/8")); err != nil {
		t.Fatalf("lag survived the reset: %v", err)
	}
	id, err := sts.New(sts.Options{Region: "us-west-2", BaseEndpoint: aws.String(b.m.URL),
		Credentials: credentials.NewStaticCredentialsProvider(acctest.AccessKey, acctest.SecretKey, "")}).GetCallerIdentity(b.ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != acctest.AccountID {
		t.Fatalf("STS through the proxy: %v", err)
	}
}
