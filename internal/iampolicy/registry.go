package iampolicy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ResourceType is an ARN resource type that IAM checks an action against.
type ResourceType string

// The ARN resource types the emitted policies scope actions to.
const (
	Image            ResourceType = "image"
	Instance         ResourceType = "instance"
	PlacementGroup   ResourceType = "placement-group"
	Volume           ResourceType = "volume"
	Subnet           ResourceType = "subnet"
	KeyPair          ResourceType = "key-pair"
	NetworkInterface ResourceType = "network-interface"
	SecurityGroup    ResourceType = "security-group"
	Snapshot         ResourceType = "snapshot"
	// Role is an IAM role the nodes' instance profile carries; one ARN per role passed.
	Role ResourceType = "role"
	// KMSKey is a customer managed key that encrypts EBS volumes; one ARN per key.
	KMSKey ResourceType = "kms-key"
)

// Feature names a part of the provisioning flow that needs its own permissions.
type Feature string

// The features a policy can be built for. Base is always on; the others follow the inputs.
const (
	Base          Feature = "base"
	PassRole      Feature = "pass-role"
	EBSEncryption Feature = "ebs-encryption"
)

// Action is one IAM action the provisioning client needs.
type Action struct {
	// Name is the IAM action that authorises the API call, such as "ec2:RunInstances".
	Name string
	// Grant is what the policy grants for it when that is wider than Name ("ec2:Describe*").
	Grant string
	// Feature is the part of the flow that needs it.
	Feature Feature
	// Statement is the Sid of the statement that grants it.
	Statement string
	// Resources are the ARN resource types IAM checks for the action and the policy scopes it
	// to. Nil means the policy grants it on "*" (as the seed policy does for everything it does
	// not scope: calls that create new resources or only read).
	Resources []ResourceType
	// Use says what the client calls it for; it is documentation for the security review.
	Use string
	// SeedOnly marks an action the seed's policy grants that the client does not call; it stays
	// so the emitted policy equals the seed's.
	SeedOnly bool
}

// granted returns the string the policy lists for the action.
func (a Action) granted() string {
	if a.Grant != "" {
		return a.Grant
	}
	return a.Name
}

// The statements, in the order documents list them. Sids are alphanumeric and unique across
// every feature, so any combination of statements forms a valid document.
const (
	sidProvision       = "ProvisionNodes"
	sidLaunch          = "LaunchInstances"
	sidManage          = "ManageInstances"
	sidEBSKeys         = "EncryptVolumesWithKMS"
	sidEBSDescribe     = "DescribeEncryptedVolumes"
	describeAllEC2     = "ec2:Describe*"
	describeAllEC2Note = "read-only; granted as ec2:Describe*"
)

var statementOrder = []string{sidProvision, sidLaunch, sidManage, sidEBSKeys, sidEBSDescribe}

// registry lists every action the provisioning client calls. Provisioning code refers to these
// entries through Lookup; the policy documents are built from nothing else.
var registry = []Action{
	// Unscoped: creating security groups and key pairs, tagging, reading.
	{Name: "ec2:DescribeAvailabilityZones", Grant: describeAllEC2, Feature: Base, Statement: sidProvision, Use: "resolve zone letters; " + describeAllEC2Note},
	{Name: "ec2:DescribeImages", Grant: describeAllEC2, Feature: Base, Statement: sidProvision, Use: "check or find the node AMI; " + describeAllEC2Note},
	{Name: "ec2:DescribeInstanceTypes", Grant: describeAllEC2, Feature: Base, Statement: sidProvision, Use: "check the instance type's architecture; " + describeAllEC2Note},
	{Name: "ec2:DescribeInstances", Grant: describeAllEC2, Feature: Base, Statement: sidProvision, Use: "read node pools by tag; " + describeAllEC2Note},
	{Name: "ec2:DescribeKeyPairs", Grant: describeAllEC2, Feature: Base, Statement: sidProvision, Use: "find a pool's key pair; " + describeAllEC2Note},
	{Name: "ec2:DescribeSecurityGroups", Grant: describeAllEC2, Feature: Base, Statement: sidProvision, Use: "check or find security groups; " + describeAllEC2Note},
	{Name: "ec2:DescribeSubnets", Grant: describeAllEC2, Feature: Base, Statement: sidProvision, Use: "check or pick the subnet; " + describeAllEC2Note},
	{Name: "ec2:DescribeVpcs", Grant: describeAllEC2, Feature: Base, Statement: sidProvision, Use: "find the default VPC; " + describeAllEC2Note},
	{Name: "ec2:CreateSecurityGroup", Feature: Base, Statement: sidProvision, Use: "create the managed rancher-nodes group"},
	{Name: "ec2:AuthorizeSecurityGroupIngress", Feature: Base, Statement: sidProvision, Use: "open the node ports on rancher-nodes"},
	{Name: "ec2:CreateKeyPair", Feature: Base, Statement: sidProvision, SeedOnly: true, Use: "granted as in the seed; the client imports keys instead"},
	{Name: "ec2:ImportKeyPair", Feature: Base, Statement: sidProvision, Use: "import a pool's SSH public key"},
	{Name: "ec2:DeleteKeyPair", Feature: Base, Statement: sidProvision, Use: "delete a pool's key pair with the pool"},
	{Name: "ec2:CreateTags", Feature: Base, Statement: sidProvision, Use: "name each node (its instance, volume and network interface) after launch; also checked for the tags given at creation"},

	// Launching nodes: every resource RunInstances touches.
	{Name: "ec2:RunInstances", Feature: Base, Statement: sidLaunch, Use: "launch a pool's nodes",
		Resources: []ResourceType{Image, Instance, PlacementGroup, Volume, Subnet, KeyPair, NetworkInterface, SecurityGroup}},
	{Name: "iam:PassRole", Feature: PassRole, Statement: sidLaunch, Use: "give nodes an IAM instance profile",
		Resources: []ResourceType{Role}},

	// Node lifecycle, on instances only.
	{Name: "ec2:RebootInstances", Feature: Base, Statement: sidManage, Resources: []ResourceType{Instance}, SeedOnly: true, Use: "granted as in the seed (Rancher reboots nodes); the client does not yet"},
	{Name: "ec2:StartInstances", Feature: Base, Statement: sidManage, Resources: []ResourceType{Instance}, SeedOnly: true, Use: "granted as in the seed (Rancher starts stopped nodes); the client does not yet"},
	{Name: "ec2:StopInstances", Feature: Base, Statement: sidManage, Resources: []ResourceType{Instance}, SeedOnly: true, Use: "granted as in the seed (Rancher stops nodes); the client does not yet"},
	{Name: "ec2:TerminateInstances", Feature: Base, Statement: sidManage, Resources: []ResourceType{Instance}, Use: "remove nodes on scale-down, replacement and destroy"},

	// EBS encryption with a customer managed KMS key.
	{Name: "kms:CreateGrant", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{KMSKey}, Use: "let EC2 use the key for a volume"},
	{Name: "kms:Decrypt", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{KMSKey}, Use: "attach an encrypted volume"},
	{Name: "kms:DescribeKey", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{KMSKey}, Use: "check the key"},
	{Name: "kms:Encrypt", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{KMSKey}, Use: "encrypt volume data keys"},
	{Name: "kms:GenerateDataKeyWithoutPlaintext", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{KMSKey}, Use: "create an encrypted volume"},
	{Name: "ec2:AttachVolume", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{Volume, Instance}, Use: "attach an encrypted volume"},
	{Name: "ec2:DetachVolume", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{Volume, Instance}, Use: "detach an encrypted volume"},
	{Name: "ec2:CreateVolume", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{Volume, Snapshot}, Use: "create an encrypted volume"},
	{Name: "ec2:DeleteVolume", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{Volume}, Use: "delete an encrypted volume"},
	{Name: "ec2:CreateSnapshot", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{Snapshot, Volume}, Use: "snapshot an encrypted volume"},
	{Name: "ec2:DeleteSnapshot", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{Snapshot}, Use: "delete a snapshot"},
	{Name: "ec2:CreateTags", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{Volume, Snapshot, Instance}, Use: "tag encrypted volumes"},
	{Name: "ec2:DeleteTags", Feature: EBSEncryption, Statement: sidEBSKeys, Resources: []ResourceType{Volume, Snapshot, Instance}, Use: "untag encrypted volumes"},
	{Name: "ec2:DescribeInstances", Feature: EBSEncryption, Statement: sidEBSDescribe, Use: "read instances with encrypted volumes"},
	{Name: "ec2:DescribeSnapshots", Feature: EBSEncryption, Statement: sidEBSDescribe, Use: "read encrypted snapshots"},
	{Name: "ec2:DescribeTags", Feature: EBSEncryption, Statement: sidEBSDescribe, Use: "read volume tags"},
	{Name: "ec2:DescribeVolumes", Feature: EBSEncryption, Statement: sidEBSDescribe, Use: "read encrypted volumes"},
}

// Actions returns a copy of the registry, sorted by feature order, then action name.
func Actions() []Action {
	out := append([]Action(nil), registry...)
	slices.SortStableFunc(out, func(a, b Action) int {
		if c := cmp.Compare(featureRank(a.Feature), featureRank(b.Feature)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Lookup returns the registry entry through which feature f is allowed to call the IAM action
// name. The provisioning client declares each of its calls with it, so a call missing from the
// registry fails loudly in tests instead of at a customer's apply.
func Lookup(f Feature, name string) (Action, error) {
	for _, a := range registry {
		if a.Feature == f && a.Name == name {
			return a, nil
		}
	}
	return Action{}, fmt.Errorf("iampolicy: %s is not in the registry for feature %q: add it to internal/iampolicy so the emitted policy grants it", name, f)
}

func featureRank(f Feature) int {
	switch f {
	case Base:
		return 0
	case PassRole:
		return 1
	default:
		return 2
	}
}
