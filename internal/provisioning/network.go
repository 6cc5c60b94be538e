package provisioning

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Rule is one ingress rule of the managed security group: from anywhere (CIDR) or from the
// group itself.
type Rule struct {
	Protocol string // tcp or udp
	From, To int32
	CIDR     string // empty: from members of the group
	Why      string
}

// ManagedRules are the ingress rules of the rancher-nodes group: Rancher's documented node ports
// for RKE2/k3s, the intra-cluster ones open only to the group. SSH is not open to the world:
// sshCIDRs say who may reach port 22; openPorts are opened to anywhere.
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
		rules = append(rules, Rule{"tcp", 22, 22, c, "SSH"})
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
		rules = append(rules, Rule{proto, int32(f), int32(t), "0.0.0.0/0", "open_ports"})
	}
	return rules
}

// EnsureSecurityGroups returns the IDs of the pool's security groups, creating the managed
// rancher-nodes group in the VPC when missing and adding rules it lacks, unless the template is
// security_group_readonly. The group is never deleted: Rancher does not, and the seed policy has
// no ec2:DeleteSecurityGroup.
func (c *Client) EnsureSecurityGroups(ctx context.Context, p Pool) ([]string, error) {
	l := p.Launch
	found, err := resolveSecurityGroups(ctx, c.EC2, l.VPCID, l.SecurityGroups, l.SecurityGroupReadonly)
	if err != nil {
		return nil, fmt.Errorf("security groups of %s: %w", p.ID(), err)
	}
	ids := make([]string, 0, len(l.SecurityGroups))
	for _, g := range l.SecurityGroups {
		id := found[g]
		if g == ManagedSecurityGroup && !l.SecurityGroupReadonly {
			if id, err = c.ensureManagedGroup(ctx, p, id); err != nil {
				return nil, err
			}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (c *Client) ensureManagedGroup(ctx context.Context, p Pool, id string) (string, error) {
	l := p.Launch
	var existing []types.IpPermission
	if id == "" {
		out, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName:   aws.String(ManagedSecurityGroup),
			Description: aws.String("Kubernetes nodes made by ec2k8s (Rancher's node ports)"),
			VpcId:       aws.String(l.VPCID),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup, Tags: ec2Tags(map[string]string{
				"Name": ManagedSecurityGroup, "ec2k8s:managed": "true",
			})}},
		})
		switch {
		case isCode(err, "InvalidGroup.Duplicate"):
			// Another pool created it meanwhile: use theirs.
			found, rerr := resolveSecurityGroups(ctx, c.EC2, l.VPCID, []string{ManagedSecurityGroup}, true)
			if rerr != nil {
				return "", fmt.Errorf("finding %s in %s: %w", ManagedSecurityGroup, l.VPCID, rerr)
			}
			id = found[ManagedSecurityGroup]
		case err != nil:
			return "", fmt.Errorf("creating security group %s in %s for %s: %w", ManagedSecurityGroup, l.VPCID, p.ID(), err)
		default:
			id = aws.ToString(out.GroupId)
			c.progress("created security group", map[string]any{"group": ManagedSecurityGroup, "group_id": id, "vpc_id": l.VPCID})
		}
	}
	if id != "" {
		out, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{id}}}})
		if err != nil {
			return "", fmt.Errorf("reading rules of %s: %w", id, err)
		}
		for _, g := range out.SecurityGroups {
			existing = append(existing, g.IpPermissions...)
		}
	}
	var missing []types.IpPermission
	for _, r := range ManagedRules(l.SSHCIDRBlocks, l.OpenPorts) {
		if !hasRule(existing, r, id) {
			missing = append(missing, permission(r, id))
		}
	}
	if len(missing) == 0 {
		return id, nil
	}
	_, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: missing})
	if err != nil && !isCode(err, "InvalidPermission.Duplicate") {
		return "", fmt.Errorf("opening node ports on %s (%s): %w", ManagedSecurityGroup, id, err)
	}
	return id, nil
}

func permission(r Rule, groupID string) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String(r.Protocol), FromPort: aws.Int32(r.From), ToPort: aws.Int32(r.To)}
	if r.CIDR == "" {
		p.UserIdGroupPairs = []types.UserIdGroupPair{{GroupId: aws.String(groupID), Description: aws.String(r.Why)}}
	} else if strings.Contains(r.CIDR, ":") {
		p.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String(r.CIDR), Description: aws.String(r.Why)}}
	} else {
		p.IpRanges = []types.IpRange{{CidrIp: aws.String(r.CIDR), Description: aws.String(r.Why)}}
	}
	return p
}

func hasRule(perms []types.IpPermission, r Rule, groupID string) bool {
	for _, p := range perms {
		if aws.ToString(p.IpProtocol) != r.Protocol || aws.ToInt32(p.FromPort) != r.From || aws.ToInt32(p.ToPort) != r.To {
			continue
		}
		if r.CIDR == "" {
			for _, g := range p.UserIdGroupPairs {
				if aws.ToString(g.GroupId) == groupID {
					return true
				}
			}
			continue
		}
		for _, ip := range p.IpRanges {
			if aws.ToString(ip.CidrIp) == r.CIDR {
				return true
			}
		}
		for _, ip := range p.Ipv6Ranges {
			if aws.ToString(ip.CidrIpv6) == r.CIDR {
				return true
			}
		}
	}
	return false
}

// EnsureKeyPair imports the pool's public key under its key pair name unless that exists.
func (c *Client) EnsureKeyPair(ctx context.Context, p Pool) error {
	out, err := c.EC2.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: []types.Filter{{Name: aws.String("key-name"), Values: []string{p.KeyPairName}}}})
	if err != nil {
		return fmt.Errorf("looking up key pair %s of %s: %w", p.KeyPairName, p.ID(), err)
	}
	if len(out.KeyPairs) > 0 {
		return nil
	}
	_, err = c.EC2.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{
		KeyName:           aws.String(p.KeyPairName),
		PublicKeyMaterial: []byte(p.PublicKey),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair, Tags: ec2Tags(map[string]string{
			TagCluster: p.Cluster, TagPool: p.Name, ClusterTag(p.Cluster): "owned",
		})}},
	})
	if err != nil && !isCode(err, "InvalidKeyPair.Duplicate") {
		return fmt.Errorf("importing key pair %s of %s: %w", p.KeyPairName, p.ID(), err)
	}
	c.progress("imported key pair", map[string]any{"pool": p.ID(), "key_pair": p.KeyPairName})
	return nil
}
