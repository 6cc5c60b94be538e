package provisioning

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// NodeSpec is exactly what a node is launched and booted with: nothing more, so that a change
// that needs no new machine (a security group rule, an SSH key, a credential) replaces no node;
// nothing less, so that every change that does shows in the plan. Its Hash is the pool's spec.
//
// GOTCHA: the JSON encoding is what is hashed, and a new hash replaces every node of a pool. The
// json names are therefore fixed, and a field added later must be omitempty so that nodes made
// before it existed keep their hash while it is unset. TestNodeSpecHash_golden pins the encoding.
type NodeSpec struct {
	Launch LaunchSpec `json:"launch"`
	// Boot is what the user data tells the node, without the per-launch IndexBase.
	Boot bootstrap.Node `json:"boot"`
}

// LaunchSpec is how a pool's instances are launched: the node template, resolved.
type LaunchSpec struct {
	Region             string            `json:"region"`
	AvailabilityZone   string            `json:"availability_zone"`
	VPCID              string            `json:"vpc_id"`
	SubnetID           string            `json:"subnet_id"`
	SecurityGroups     []string          `json:"security_groups"` // names or IDs
	AMI                string            `json:"ami"`
	InstanceType       string            `json:"instance_type"`
	RootSize           int64             `json:"root_size"`
	VolumeType         string            `json:"volume_type"`
	Encrypted          bool              `json:"encrypted,omitempty"`
	KMSKeyID           string            `json:"kms_key_id,omitempty"`
	IAMInstanceProfile string            `json:"iam_instance_profile,omitempty"`
	PrivateAddressOnly bool              `json:"private_address_only,omitempty"`
	SpotInstance       bool              `json:"spot_instance,omitempty"`
	SpotPrice          float64           `json:"spot_price,omitempty"`
	Monitoring         bool              `json:"monitoring,omitempty"`
	EBSOptimized       bool              `json:"ebs_optimized,omitempty"`
	HTTPTokens         string            `json:"http_tokens"`
	HopLimit           int64             `json:"hop_limit"`
	Tags               map[string]string `json:"tags,omitempty"`
}

// Hash returns a short stable hash of the spec: the pool's spec, kept in every node's
// ec2k8s:spec tag. Lists whose order means nothing are sorted first.
func (s NodeSpec) Hash() (string, error) {
	s.Launch.SecurityGroups = sorted(s.Launch.SecurityGroups)
	s.Boot = s.Boot.ForSpec()
	s.Boot.Roles = sorted(s.Boot.Roles)
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("hashing node spec: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16], nil
}

// UserData renders the user data of one launch's nodes (gzip-compressed when that is what makes
// it fit) and checks it fits what EC2 accepts. compressed says it was compressed.
func (s NodeSpec) UserData(l bootstrap.Launch) (data []byte, compressed bool, err error) {
	b, compressed, err := bootstrap.UserData(s.Boot, l)
	if err != nil {
		return nil, false, err
	}
	if len(b) > MaxUserData {
		return nil, false, fmt.Errorf("the user data of the %s nodes is %d bytes even gzip-compressed; EC2 accepts at most %d (16 KiB) before base64 encoding: "+
			"shorten the node template's user_data (%d bytes), node_labels or node_taints", s.Boot.Pool, len(b), MaxUserData, len(s.Boot.ExtraUserData))
	}
	return b, compressed, nil
}

// CheckUserData renders the largest user data the pool's nodes can get — the node that starts
// the cluster, with every CA, at the largest index — so a plan can refuse what RunInstances
// would.
func (s NodeSpec) CheckUserData() error {
	p, err := samplePKI()
	if err != nil {
		return err
	}
	l := bootstrap.Launch{IndexBase: 1 << 30, Init: s.Boot.Etcd(), Server: "255.255.255.255",
		RegistrationAddress: strings.Repeat("r", 253), Secrets: p.SecretsFor(s.Boot, s.Boot.Etcd())}
	if !l.Init {
		l.Server = l.RegistrationAddress
	}
	_, _, err = s.UserData(l)
	return err
}

// samplePKI is a PKI of real sizes, made once, to measure user data by.
var samplePKI = sync.OnceValues(func() (*bootstrap.PKI, error) {
	return bootstrap.NewPKI(rand.Reader, time.Now(), strings.Repeat("c", 40))
})

// GroupSettings is what a pool does to the managed security group: nothing a node is booted
// with, so it is not part of the spec.
type GroupSettings struct {
	// Readonly means the provider must not create or change security groups.
	Readonly      bool
	OpenPorts     []string
	SSHCIDRBlocks []string
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
