package provisioning

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// DefaultRuleQuota is how many inbound rules AWS allows in one security group by default, for
// IPv4 and for IPv6 separately; a rule whose source is a group counts for both. Accounts can
// raise it (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html).
const DefaultRuleQuota = 60

// ruleQuotaMargin is how close to the quota one template's rules may come before the plan
// warns: other templates of the VPC add their own SSH and port rules to the same group.
const ruleQuotaMargin = 10

// Rule is one ingress rule of the managed security group: from anywhere (CIDR) or from the
// group itself.
type Rule struct {
	Protocol string // tcp or udp
	From, To int32
	CIDR     string // empty: from members of the group
	Why      string
}

// key identifies a rule as EC2 does: protocol, ports and source; the description is not part
// of it.
func (r Rule) key() string {
	return fmt.Sprintf("%s|%d|%d|%s", r.Protocol, r.From, r.To, r.CIDR)
}

// ManagedRules are the ingress rules of the rancher-nodes group: Rancher's documented node ports
// for RKE2/k3s, the intra-cluster ones open only to the group. SSH is not open to the world:
// sshCIDRs say who may reach port 22; openPorts are opened to anywhere. The rules are
// normalised (CIDRs to their network address) and each appears once: EC2 refuses a request
// that names a permission twice (InvalidParameterValue).
func ManagedRules(sshCIDRs, openPorts []string) []Rule {
	rules := []Rule{
		{"tcp", 80, 80, "0.0.0.0/0", "ingress HTTP"},
		{"tcp", 443, 443, "0.0.0.0/0", "ingress HTTPS"},
		{"tcp", 6443, 6443, "0.0.0.0/0", "Kubernetes API (authorized cluster endpoint)"},
		{"tcp", 30000, 32767, "0.0.0.0/0", "NodePort services"},
		{"udp", 30000, 32767, "0.0.0.0/0", "NodePort services"},
		{"tcp", 2379, 2380, "", "etcd client and peer"},
		{"tcp", 9345, 9345, "", "RKE2 supervisor (nodes join here)"},
		{"tcp", 10250, 10250, "", "kubelet"},
		{"tcp", 9099, 9099, "", "Canal/Calico health checks"},
		{"tcp", 179, 179, "", "Calico BGP"},
		{"tcp", 5473, 5473, "", "Calico Typha"},
		{"tcp", 4240, 4240, "", "Cilium health checks"},
		{"udp", 8472, 8472, "", "VXLAN (Canal, Flannel, Cilium)"},
		{"udp", 4789, 4789, "", "VXLAN (Calico)"},
		{"udp", 51820, 51821, "", "WireGuard (Canal, Flannel, Cilium)"},
	}
	for _, c := range sshCIDRs {
		rules = append(rules, Rule{"tcp", 22, 22, normalCIDR(c), "SSH"})
	}
	for _, p := range openPorts {
		spec, proto, found := strings.Cut(p, "/")
		if !found {
			proto = "tcp"
		}
		from, to, _ := strings.Cut(spec, "-")
		if to == "" {
			to = from
		}
		f, _ := strconv.Atoi(from)
		t, _ := strconv.Atoi(to)
		rules = append(rules, Rule{strings.ToLower(proto), int32(f), int32(t), "0.0.0.0/0", "open_ports"})
	}
	seen := map[string]bool{}
	out := rules[:0]
	for _, r := range rules {
		if !seen[r.key()] {
			seen[r.key()] = true
			out = append(out, r)
		}
	}
	return out
}

// normalCIDR is the CIDR as EC2 stores it: the network address (10.1.2.3/8 is 10.0.0.0/8).
func normalCIDR(s string) string {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return s
	}
	return p.Masked().String()
}

// ruleCounts counts rules against the quota: per address family, a group source in both.
func ruleCounts(rules []Rule) (ipv4, ipv6 int) {
	for _, r := range rules {
		switch {
		case r.CIDR == "" || strings.HasPrefix(r.CIDR, "group:") || r.CIDR == "prefix-list":
			ipv4++
			ipv6++
		case strings.Contains(r.CIDR, ":"):
			ipv6++
		default:
			ipv4++
		}
	}
	return ipv4, ipv6
}

// RuleQuotaWarning says when the managed group's rules of one template alone come close to the
// default quota; empty when they do not.
func RuleQuotaWarning(sshCIDRs, openPorts []string) string {
	ipv4, ipv6 := ruleCounts(ManagedRules(sshCIDRs, openPorts))
	if n := max(ipv4, ipv6); n > DefaultRuleQuota-ruleQuotaMargin {
		return fmt.Sprintf("The managed %s group needs %d inbound IPv4 and %d IPv6 rules for this template (Rancher's node ports, ssh_cidr_blocks and open_ports). "+
			"AWS allows %d per group and address family by default, and every template of the VPC adds its own: merge CIDR blocks or port ranges, "+
			"or raise the \"Inbound or outbound rules per security group\" quota of the account.", ManagedSecurityGroup, ipv4, ipv6, DefaultRuleQuota)
	}
	return ""
}

// rulesOf expands EC2's permissions into rules, one per source.
func rulesOf(perms []types.IpPermission, groupID string) []Rule {
	var out []Rule
	for _, p := range perms {
		base := Rule{Protocol: strings.ToLower(aws.ToString(p.IpProtocol)), From: aws.ToInt32(p.FromPort), To: aws.ToInt32(p.ToPort)}
		for _, ip := range p.IpRanges {
			r := base
			r.CIDR = normalCIDR(aws.ToString(ip.CidrIp))
			out = append(out, r)
		}
		for _, ip := range p.Ipv6Ranges {
			r := base
			r.CIDR = normalCIDR(aws.ToString(ip.CidrIpv6))
			out = append(out, r)
		}
		for _, g := range p.UserIdGroupPairs {
			r := base
			if aws.ToString(g.GroupId) != groupID {
				r.CIDR = "group:" + aws.ToString(g.GroupId) // another group's rule: never one of ours
			}
			out = append(out, r)
		}
		for range p.PrefixListIds {
			r := base
			r.CIDR = "prefix-list" // counts for both families, like a group
			out = append(out, r)
		}
	}
	return out
}

// EnsureSecurityGroups returns the IDs of the pool's security groups, creating the managed
// rancher-nodes group in the VPC when missing and adding rules it lacks, unless the template is
// security_group_readonly. The group is never deleted: Rancher does not, and the seed policy has
// no ec2:DeleteSecurityGroup.
func (c *Client) EnsureSecurityGroups(ctx context.Context, p Pool) ([]string, error) {
	l := p.Spec.Launch
	found, err := resolveSecurityGroups(ctx, c.EC2, l.VPCID, l.SecurityGroups, p.Groups.Readonly)
	if err != nil {
		return nil, fmt.Errorf("security groups of %s: %w", p.ID(), err)
	}
	ids := make([]string, 0, len(l.SecurityGroups))
	for _, name := range l.SecurityGroups {
		g := found[name]
		if name == ManagedSecurityGroup && !p.Groups.Readonly {
			id, err := c.ensureManagedGroup(ctx, p, g)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
			continue
		}
		if g == nil {
			return nil, fmt.Errorf("security group %s of %s does not exist in %s", name, p.ID(), l.VPCID)
		}
		ids = append(ids, aws.ToString(g.GroupId))
	}
	return ids, nil
}

// ensureManagedGroup creates the managed group when g is nil, and adds the rules it lacks.
func (c *Client) ensureManagedGroup(ctx context.Context, p Pool, g *types.SecurityGroup) (string, error) {
	vpc := p.Spec.Launch.VPCID
	if g == nil {
		var err error
		if g, err = c.createManagedGroup(ctx, p); err != nil {
			return "", err
		}
	}
	id := aws.ToString(g.GroupId)
	want := ManagedRules(p.Groups.SSHCIDRBlocks, p.Groups.OpenPorts)
	existing := rulesOf(g.IpPermissions, id)
	for attempt := 1; ; attempt++ {
		missing := missingRules(want, existing)
		if len(missing) == 0 {
			return id, nil
		}
		perms := make([]types.IpPermission, len(missing))
		for i, r := range missing {
			perms[i] = permission(r, id)
		}
		err := c.retryOn(ctx, []string{codeGroupNotFound}, func() error {
			_, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: perms})
			return err
		})
		switch {
		case err == nil:
			c.progress("opened node ports", map[string]any{"group_id": id, "rules": len(missing)})
			return id, nil
		case isCode(err, codePermissionDuplicate) && attempt < c.retry().Attempts:
			// Another pool added one of them meanwhile, and then EC2 adds none of the
			// request's rules: read the group again, after a pause (a read right away may not
			// show the new rule yet), and add what is still missing.
			if err := sleep(ctx, c.retry().backoff(attempt)); err != nil {
				return "", err
			}
			fresh, rerr := c.lookupGroup(ctx, vpc, types.Filter{Name: aws.String("group-id"), Values: []string{id}})
			if rerr != nil {
				return "", fmt.Errorf("reading rules of %s (%s): %w", ManagedSecurityGroup, id, rerr)
			}
			existing = rulesOf(fresh.IpPermissions, id)
		case isCode(err, codeRulesLimitExceeded):
			has4, has6 := ruleCounts(existing)
			add4, add6 := ruleCounts(missing)
			return "", fmt.Errorf("security group %s (%s) in %s would hold %d inbound IPv4 and %d IPv6 rules (it has %d and %d; pool %s adds %d and %d), "+
				"more than the account allows (%d of each by default): remove entries from open_ports or ssh_cidr_blocks of the node templates of this VPC, "+
				"or raise the \"Inbound or outbound rules per security group\" quota (%w)",
				ManagedSecurityGroup, id, vpc, has4+add4, has6+add6, has4, has6, p.ID(), add4, add6, DefaultRuleQuota, err)
		default:
			return "", fmt.Errorf("opening node ports on %s (%s): %w", ManagedSecurityGroup, id, err)
		}
	}
}

// createManagedGroup creates the managed group in the pool's VPC. When another pool created it
// meanwhile (InvalidGroup.Duplicate), it is looked up, waiting out EC2's eventual consistency.
func (c *Client) createManagedGroup(ctx context.Context, p Pool) (*types.SecurityGroup, error) {
	vpc := p.Spec.Launch.VPCID
	out, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName:   aws.String(ManagedSecurityGroup),
		Description: aws.String("Kubernetes nodes made by ec2k8s (Rancher's node ports)"),
		VpcId:       aws.String(vpc),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: ec2Tags(map[string]string{
			TagName: ManagedSecurityGroup, tagManaged: "true",
		})}},
	})
	switch {
	case isCode(err, codeGroupDuplicate):
		g, err := c.lookupGroup(ctx, vpc,
			types.Filter{Name: aws.String("vpc-id"), Values: []string{vpc}},
			types.Filter{Name: aws.String("group-name"), Values: []string{ManagedSecurityGroup}})
		if err != nil {
			return nil, fmt.Errorf("finding %s in %s, which another pool created: %w", ManagedSecurityGroup, vpc, err)
		}
		return g, nil
	case err != nil:
		return nil, fmt.Errorf("creating security group %s in %s for %s: %w", ManagedSecurityGroup, vpc, p.ID(), err)
	}
	c.progress("created security group", map[string]any{"group": ManagedSecurityGroup, "group_id": aws.ToString(out.GroupId), "vpc_id": vpc})
	// New: no ingress rules yet, and no need to ask EC2, which might not list it yet.
	return &types.SecurityGroup{GroupId: out.GroupId, GroupName: aws.String(ManagedSecurityGroup), VpcId: aws.String(vpc)}, nil
}

// lookupGroup describes the one group filters match, asking again while EC2 does not list it
// yet (it was made a moment ago).
func (c *Client) lookupGroup(ctx context.Context, vpc string, filters ...types.Filter) (*types.SecurityGroup, error) {
	r := c.retry()
	for attempt := 1; ; attempt++ {
		out, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: filters})
		if err != nil {
			return nil, err
		}
		if len(out.SecurityGroups) > 0 {
			return &out.SecurityGroups[0], nil
		}
		if attempt >= r.Attempts {
			return nil, fmt.Errorf("EC2 does not list %s in %s after %d attempts: apply again", ManagedSecurityGroup, vpc, attempt)
		}
		c.progress("waiting for EC2 to list the security group", map[string]any{"vpc_id": vpc, "attempt": attempt})
		if err := sleep(ctx, r.backoff(attempt)); err != nil {
			return nil, err
		}
	}
}

// missingRules are the rules of want that existing lacks.
func missingRules(want, existing []Rule) []Rule {
	have := map[string]bool{}
	for _, r := range existing {
		have[r.key()] = true
	}
	var out []Rule
	for _, r := range want {
		if !have[r.key()] {
			out = append(out, r)
		}
	}
	return out
}

func permission(r Rule, groupID string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String(r.Protocol), FromPort: aws.Int32(r.From), ToPort: aws.Int32(r.To)}
	switch {
	case r.CIDR == "":
		p.UserIdGroupPairs = []types.UserIdGroupPair{{GroupId: aws.String(groupID), Description: aws.String(r.Why)}}
	case strings.Contains(r.CIDR, ":"):
		p.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String(r.CIDR), Description: aws.String(r.Why)}}
	default:
		p.IpRanges = []types.IpRange{{CidrIp: aws.String(r.CIDR), Description: aws.String(r.Why)}}
	}
	return p
}
