package acctest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// checkFilterValues: EC2 refuses more than 200 values in one filter.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (FilterLimitExceeded)
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Filter.html
//
// EC2's own message counts the values of the whole call, and so does this rule: it is the
// stricter reading of "200 values per filter".
func checkFilterValues(c *ec2Call) *refusal {
	values := 0
	for k := range c.form {
		if filterValueRe.MatchString(k) {
			values++
		}
	}
	if values > 200 {
		return &refusal{rule: RuleFilterValues, code: "FilterLimitExceeded",
			msg: fmt.Sprintf("The maximum number of filter values specified on a single call is 200 (this call has %d)", values)}
	}
	return nil
}

var filterValueRe = regexp.MustCompile(`^Filter\.(\d+)\.Value\.\d+$`)

// checkClientTokenLength: a client token is at most 64 ASCII characters.
// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html
func checkClientTokenLength(c *ec2Call) *refusal {
	token := c.form.Get("ClientToken")
	if c.action != "RunInstances" || len(token) <= 64 {
		return nil
	}
	return &refusal{rule: RuleClientToken, code: "InvalidParameterValue",
		msg: fmt.Sprintf("Value (%s) for parameter clientToken is invalid. The client token must be at most 64 ASCII characters; it has %d", token, len(token))}
}

// checkUserDataSize: EC2 limits user data to 16 KB before base64 encoding; moto takes any size.
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html
func checkUserDataSize(c *ec2Call) *refusal {
	encoded := c.form.Get("UserData")
	if c.action != "RunInstances" || encoded == "" {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil // moto has its own answer to bad base64
	}
	if len(raw) <= 16384 {
		return nil
	}
	return &refusal{rule: RuleUserDataSize, code: "InvalidParameterValue",
		msg: fmt.Sprintf("User data is limited to 16384 bytes; this request's user data is %d bytes", len(raw))}
}

// checkMetadataTagKeys: with instance tags in instance metadata, an instance's tag keys become
// path segments, so EC2 allows only letters, digits and + - = . , _ : @, and not ".", ".." or
// "_index".
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html
// A launch that does not say takes the account's default, which can be "enabled"
// (ModifyInstanceMetadataDefaults): the proxy's MetadataTagsByDefault.
func (p *StrictEC2) checkMetadataTagKeys(c *ec2Call) *refusal {
	if c.action != "RunInstances" {
		return nil
	}
	switch c.form.Get("MetadataOptions.InstanceMetadataTags") {
	case "enabled":
	case "":
		if !p.MetadataTagsByDefault.Load() {
			return nil
		}
	default:
		return nil
	}
	for _, k := range slices.SortedFunc(maps.Keys(c.form), compareKeys) {
		m := tagKeyRe.FindStringSubmatch(k)
		if m == nil || c.form.Get("TagSpecification."+m[1]+".ResourceType") != "instance" {
			continue
		}
		key := c.form.Get(k)
		if !metadataTagKeyRe.MatchString(key) || key == "." || key == ".." || key == "_index" {
			return &refusal{rule: RuleMetadataTagKeys, code: "InvalidParameterValue",
				msg: fmt.Sprintf("The tag key '%s' is not allowed while instance metadata tags are enabled: keys may use only letters, digits and + - = . , _ : @, and may not be '.', '..' or '_index'", key)}
		}
	}
	return nil
}

var (
	tagKeyRe         = regexp.MustCompile(`^TagSpecification\.(\d+)\.Tag\.\d+\.Key$`)
	metadataTagKeyRe = regexp.MustCompile(`^[A-Za-z0-9+\-=.,_:@]+$`)
)

// permission is one inbound rule: a protocol, a port range and one source. EC2 compares rules
// this way; descriptions do not count.
type permission struct {
	proto    string // normalised: tcp, udp, icmp, icmpv6, -1 or a protocol number
	from, to int32  // -1 where the protocol has no ports
	kind     string // cidr, cidr6, group or prefix-list
	peer     string
}

func (r permission) String() string {
	var what string
	switch r.proto {
	case "-1":
		what = "ALL"
	case "tcp", "udp":
		what = fmt.Sprintf("%s, from port: %d, to port: %d", strings.ToUpper(r.proto), r.from, r.to)
	case "icmp", "icmpv6":
		what = fmt.Sprintf("%s, type: %d, code: %d", strings.ToUpper(r.proto), r.from, r.to)
	default:
		what = r.proto
	}
	return fmt.Sprintf("peer: %s, %s, ALLOW", r.peer, what)
}

// families returns how many IPv4 and IPv6 rules r counts for against the quota.
func (r permission) families() (v4, v6 int) {
	switch r.kind {
	case "cidr6":
		return 0, 1
	case "group":
		return 1, 1
	default:
		// EC2 counts a prefix list as its maximum entries; one is near enough here, as the
		// provider never references prefix lists.
		return 1, 0
	}
}

var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}

func newPermission(proto string, from, to *int32, kind, peer string) permission {
	proto = strings.ToLower(proto)
	if name, ok := protocolNames[proto]; ok {
		proto = name
	}
	r := permission{proto: proto, from: -1, to: -1, kind: kind, peer: peer}
	switch proto {
	case "tcp", "udp", "icmp", "icmpv6": // for any other protocol EC2 ignores ports
		if from != nil {
			r.from = *from
		}
		if to != nil {
			r.to = *to
		}
	}
	if kind == "cidr" || kind == "cidr6" {
		if prefix, err := netip.ParsePrefix(peer); err == nil {
			r.peer = prefix.Masked().String()
		}
	}
	return r
}

var ingressSourceRe = regexp.MustCompile(`^IpPermissions\.(\d+)\.(IpRanges\.\d+\.CidrIp|Ipv6Ranges\.\d+\.CidrIpv6|Groups\.\d+\.GroupId|Groups\.\d+\.GroupName|PrefixListIds\.\d+\.PrefixListId)$`)

// requestedPermissions expands an AuthorizeSecurityGroupIngress request into one permission
// per source, in request order.
func requestedPermissions(form url.Values) []permission {
	port := func(key string) *int32 {
		n, err := strconv.ParseInt(form.Get(key), 10, 32)
		if err != nil {
			return nil
		}
		v := int32(n)
		return &v
	}
	kinds := map[string]string{"CidrIp": "cidr", "CidrIpv6": "cidr6", "GroupId": "group", "GroupName": "group", "PrefixListId": "prefix-list"}
	var out []permission
	for _, key := range slices.SortedFunc(maps.Keys(form), compareKeys) {
		m := ingressSourceRe.FindStringSubmatch(key)
		if m == nil {
			continue
		}
		field := m[2][strings.LastIndex(m[2], ".")+1:]
		if field == "GroupName" && form.Get(strings.TrimSuffix(key, "GroupName")+"GroupId") != "" {
			continue // the ID names the same group
		}
		n := "IpPermissions." + m[1] + "."
		out = append(out, newPermission(form.Get(n+"IpProtocol"), port(n+"FromPort"), port(n+"ToPort"), kinds[field], form.Get(key)))
	}
	// The flat form of the API: one protocol and port range with a CIDR or a named group.
	if proto := form.Get("IpProtocol"); proto != "" {
		if cidr := form.Get("CidrIp"); cidr != "" {
			out = append(out, newPermission(proto, port("FromPort"), port("ToPort"), "cidr", cidr))
		}
		if g := form.Get("SourceSecurityGroupName"); g != "" {
			out = append(out, newPermission(proto, port("FromPort"), port("ToPort"), "group", g))
		}
	}
	return out
}

func existingPermissions(perms []types.IpPermission) []permission {
	var out []permission
	for _, ip := range perms {
		proto := aws.ToString(ip.IpProtocol)
		for _, r := range ip.IpRanges {
			out = append(out, newPermission(proto, ip.FromPort, ip.ToPort, "cidr", aws.ToString(r.CidrIp)))
		}
		for _, r := range ip.Ipv6Ranges {
			out = append(out, newPermission(proto, ip.FromPort, ip.ToPort, "cidr6", aws.ToString(r.CidrIpv6)))
		}
		for _, g := range ip.UserIdGroupPairs {
			peer := aws.ToString(g.GroupId)
			if peer == "" {
				peer = aws.ToString(g.GroupName)
			}
			out = append(out, newPermission(proto, ip.FromPort, ip.ToPort, "group", peer))
		}
		for _, pl := range ip.PrefixListIds {
			out = append(out, newPermission(proto, ip.FromPort, ip.ToPort, "prefix-list", aws.ToString(pl.PrefixListId)))
		}
	}
	return out
}

// checkIngress applies EC2's rules for one AuthorizeSecurityGroupIngress request, which EC2
// takes whole or not at all; moto adds the rules one by one and stops at the first duplicate,
// keeping those before it.
func (p *StrictEC2) checkIngress(ctx context.Context, c *ec2Call) (*refusal, error) {
	requested := requestedPermissions(c.form)
	if ref := checkIngressRepeated(requested); ref != nil {
		return ref, nil
	}
	group, err := p.securityGroup(ctx, c)
	if err != nil || group == nil {
		return nil, err // moto answers for a group it does not have
	}
	existing := existingPermissions(group.IpPermissions)
	if ref := checkIngressDuplicate(requested, existing); ref != nil {
		return ref, nil
	}
	return checkIngressQuota(requested, existing, int(p.RuleQuota.Load())), nil
}

// checkIngressRepeated: one request may not name the same permission twice.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AuthorizeSecurityGroupIngress.html
func checkIngressRepeated(requested []permission) *refusal {
	seen := map[permission]bool{}
	for _, r := range requested {
		if seen[r] {
			return &refusal{rule: RuleIngressRepeated, code: "InvalidParameterValue",
				msg: fmt.Sprintf("The same permission must not appear multiple times (%s)", r)}
		}
		seen[r] = true
	}
	return nil
}

// checkIngressDuplicate: a rule the group already has fails the whole request.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (InvalidPermission.Duplicate)
func checkIngressDuplicate(requested, existing []permission) *refusal {
	have := map[permission]bool{}
	for _, r := range existing {
		have[r] = true
	}
	for _, r := range requested {
		if have[r] {
			return &refusal{rule: RuleIngressDuplicate, code: "InvalidPermission.Duplicate",
				msg: fmt.Sprintf("the specified rule %q already exists", r.String())}
		}
	}
	return nil
}

// checkIngressQuota: EC2 counts inbound rules per address family against the quota, a rule
// whose source is a group once for each family; moto counts both families together.
// https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html
func checkIngressQuota(requested, existing []permission, quota int) *refusal {
	var v4, v6 int
	for _, r := range append(append([]permission(nil), existing...), requested...) {
		a, b := r.families()
		v4, v6 = v4+a, v6+b
	}
	if v4 <= quota && v6 <= quota {
		return nil
	}
	return &refusal{rule: RuleIngressQuota, code: "RulesPerSecurityGroupLimitExceeded",
		msg: "The maximum number of rules per security group has been reached."}
}

// securityGroup asks moto for the group an ingress request names; nil when moto has none.
func (p *StrictEC2) securityGroup(ctx context.Context, c *ec2Call) (*types.SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{}
	if id := c.form.Get("GroupId"); id != "" {
		in.GroupIds = []string{id}
	} else if name := c.form.Get("GroupName"); name != "" {
		in.GroupNames = []string{name}
	} else {
		return nil, nil
	}
	out, err := p.client(c.region).DescribeSecurityGroups(ctx, in)
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && strings.HasPrefix(apiErr.ErrorCode(), "InvalidGroup") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("asking moto for the security group: %w", err)
	}
	if len(out.SecurityGroups) == 0 {
		return nil, nil
	}
	return &out.SecurityGroups[0], nil
}

// checkTerminate: EC2 terminates all the instances named or, when one ID is unknown, none.
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html ("If you
// specify multiple instances and the request fails (for example, because of a single incorrect
// instance ID), none of the instances are terminated.")
func (p *StrictEC2) checkTerminate(ctx context.Context, c *ec2Call) (*refusal, error) {
	ids := list(c.form, "InstanceId")
	if len(ids) == 0 {
		return nil, nil
	}
	known, err := p.knownInstances(ctx, c.region, ids)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if !known[id] && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	ref := instancesNotFound(missing)
	ref.rule = RuleTerminateUnknown
	return ref, nil
}

// knownInstances returns which of ids moto has, in any state, asking by filter (which answers
// for the IDs it finds instead of failing on the others) in chunks within EC2's 200-value limit.
func (p *StrictEC2) knownInstances(ctx context.Context, region string, ids []string) (map[string]bool, error) {
	known := map[string]bool{}
	for start := 0; start < len(ids); start += 200 {
		chunk := ids[start:min(start+200, len(ids))]
		pages := ec2.NewDescribeInstancesPaginator(p.client(region), &ec2.DescribeInstancesInput{
			Filters: []types.Filter{{Name: aws.String("instance-id"), Values: chunk}}})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("asking moto for instances: %w", err)
			}
			for _, r := range out.Reservations {
				for _, i := range r.Instances {
					known[aws.ToString(i.InstanceId)] = true
				}
			}
		}
	}
	return known, nil
}
