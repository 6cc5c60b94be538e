package provisioning

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	kubeletapis "k8s.io/kubelet/pkg/apis"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// Limits and defaults a template is checked against.
const (
	// MaxTags is what EC2 allows on one resource.
	MaxTags = 50
	// ReservedTags is how many of them the provider keeps for its own tags on a node's instance,
	// volumes and network interfaces: the ten that launchTags sets (TagName, ClusterTag and the
	// eight ec2k8s:* tags, TagCluster to TagVersion) and one to spare.
	// TestReservedTags_coversLaunchTags holds it to launchTags.
	ReservedTags = 11
	// MaxUserTags is what is left for the template's tags.
	MaxUserTags = MaxTags - ReservedTags
	// MaxSecurityGroups is how many security groups EC2 attaches to one network interface at
	// most (the quota is 5 by default, adjustable to 16).
	MaxSecurityGroups = 16
	// MaxUserData is what EC2 takes as user data, in raw form, before base64 encoding.
	MaxUserData = bootstrap.MaxUserData
	// MaxExtraUserData is the room left for extra user data in EC2's 16 KiB, next to the bootstrap.
	MaxExtraUserData = 8 * 1024
	// ManagedSecurityGroup is the group the provider creates in the VPC when a template uses it.
	ManagedSecurityGroup = "rancher-nodes"
)

var (
	nameRe          = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	regionRe        = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	zoneRe          = regexp.MustCompile(`^([a-z]|[a-z]{2}(-[a-z]+)+-[0-9]{1,2}(-[a-z]+-[0-9]+)?[a-z])$`)
	vpcIDRe         = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetIDRe      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	sgIDRe          = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	amiRe           = regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`)
	instanceTypeRe  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	sshUserRe       = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	sshKeyRe        = regexp.MustCompile(`^(ssh-ed25519|ssh-rsa) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$`)
	profileNameRe   = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,128}$`)
	profileARNRe    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:instance-profile/[A-Za-z0-9+=,.@_/-]{1,512}$`)
	openPortRe      = regexp.MustCompile(`^([0-9]{1,5})(-([0-9]{1,5}))?(/(tcp|udp))?$`)
	kmsKeyRe        = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]{1,250}|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key/[0-9a-z-]{36}|key/mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]{1,250}))$`)
	labelNameRe     = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$`)
	dnsSubdomainRe  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	envNameRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	engineOptionRe  = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	registryHostRe  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	storageDrivers  = []string{"btrfs", "devmapper", "fuse-overlayfs", "native", "overlay2", "overlayfs", "stargz", "vfs", "zfs"}
	volumeTypes     = []string{"gp2", "gp3", "standard"}
	taintEffects    = []string{"NoExecute", "NoSchedule", "PreferNoSchedule"}
	httpTokenValues = []string{"optional", "required"}
)

// ValidateName checks the name of a credential or template.
func ValidateName(s string) error {
	if !nameRe.MatchString(s) {
		return fmt.Errorf("%q is not a valid name: use 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit", s)
	}
	return nil
}

// ValidateRegion checks an AWS region name.
func ValidateRegion(s string) error {
	if !regionRe.MatchString(s) {
		return fmt.Errorf("%q is not an AWS region name: use a name like \"us-west-2\"", s)
	}
	return nil
}

// ValidateZone checks a zone letter ("a") or a full availability zone name ("us-west-2a").
func ValidateZone(s string) error {
	if !zoneRe.MatchString(s) {
		return fmt.Errorf("%q is not an availability zone: give a letter such as \"a\", or a full zone name such as \"us-west-2a\"", s)
	}
	return nil
}

// AvailabilityZone returns the full zone name of zone in region.
func AvailabilityZone(region, zone string) string {
	if len(zone) == 1 {
		return region + zone
	}
	return zone
}

// CheckZoneInRegion checks that a full zone name belongs to region.
func CheckZoneInRegion(region, zone string) error {
	if len(zone) > 1 && !strings.HasPrefix(zone, region) {
		return fmt.Errorf("%q is not a zone of region %q: use a zone letter, or a zone name starting with %q", zone, region, region)
	}
	return nil
}

func prefixedID(kind, prefix string, re *regexp.Regexp) func(string) error {
	return func(s string) error {
		if !re.MatchString(s) {
			return fmt.Errorf("%q is not a %s ID: expected %s followed by 8 or 17 hex digits", s, kind, prefix)
		}
		return nil
	}
}

// ValidateVPCID, ValidateSubnetID and ValidateAMI check EC2 IDs by their prefix and shape.
var (
	ValidateVPCID    = prefixedID("VPC", "vpc-", vpcIDRe)
	ValidateSubnetID = prefixedID("subnet", "subnet-", subnetIDRe)
	ValidateAMI      = prefixedID("AMI", "ami-", amiRe)
)

// ValidateSecurityGroup checks a security group ID (sg-...) or group name.
func ValidateSecurityGroup(s string) error {
	if strings.HasPrefix(s, "sg-") {
		return prefixedID("security group", "sg-", sgIDRe)(s)
	}
	if s == "" || len(s) > 255 || strings.TrimSpace(s) != s {
		return fmt.Errorf("%q is not a security group name: use 1 to 255 characters without leading or trailing spaces, or a group ID (sg-...)", s)
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Errorf("%q is not a security group name: only printable ASCII is allowed", s)
		}
	}
	return nil
}

// ValidateInstanceType checks the shape of an instance type name ("family.size").
func ValidateInstanceType(s string) error {
	if !instanceTypeRe.MatchString(s) {
		return fmt.Errorf("%q is not an EC2 instance type: expected family.size, such as \"t3.medium\" or \"m7g.large\"", s)
	}
	return nil
}

// ValidateVolumeType checks a root volume type.
func ValidateVolumeType(s string) error { return oneOf("volume type", s, volumeTypes) }

// ValidateRootSize checks a root volume size in GiB.
func ValidateRootSize(n int64) error {
	if n < 8 || n > 16384 {
		return fmt.Errorf("%d GiB is not a usable root volume size: give 8 to 16384 (Kubernetes nodes want 32 or more)", n)
	}
	return nil
}

// ValidateSSHUser checks a Linux user name.
func ValidateSSHUser(s string) error {
	if !sshUserRe.MatchString(s) {
		return fmt.Errorf("%q is not a Linux user name: use up to 32 lowercase letters, digits, '_' or '-', not starting with a digit", s)
	}
	return nil
}

// ValidateSSHPublicKey checks an OpenSSH public key of a type EC2 imports.
func ValidateSSHPublicKey(s string) error {
	if !sshKeyRe.MatchString(strings.TrimSpace(s)) {
		return fmt.Errorf("not an OpenSSH public key EC2 can import: expected one line \"ssh-ed25519 AAAA...\" or \"ssh-rsa AAAA...\" (the .pub file, not the private key)")
	}
	return nil
}

// ValidateInstanceProfile checks an IAM instance profile name or ARN.
func ValidateInstanceProfile(s string) error {
	if profileNameRe.MatchString(s) || profileARNRe.MatchString(s) {
		return nil
	}
	return fmt.Errorf("%q is not an IAM instance profile: give its name (letters, digits, +=,.@_-) or its ARN", s)
}

// ValidateSpotPrice checks a maximum spot price in US dollars per hour.
func ValidateSpotPrice(p float64) error {
	if p <= 0 || p > 10000 {
		return fmt.Errorf("%g is not a spot price: give the maximum US dollars per hour, such as 0.05", p)
	}
	return nil
}

// CheckSpot checks that a spot price comes with a spot request.
func CheckSpot(request bool, price float64) error {
	if price != 0 && !request {
		return fmt.Errorf("spot_price is set but request_spot_instance is false: set request_spot_instance = true, or drop spot_price")
	}
	return nil
}

// CheckPrivateAddress checks that nodes without a public address are reached privately.
func CheckPrivateAddress(privateOnly, usePrivate bool) error {
	if privateOnly && !usePrivate {
		return fmt.Errorf("private_address_only gives nodes no public address, so use_private_address cannot be false: drop it or set it to true")
	}
	return nil
}

// CheckEncryption checks that a KMS key comes with encryption.
func CheckEncryption(encrypted bool, kmsKey string) error {
	if kmsKey != "" && !encrypted {
		return fmt.Errorf("kms_key_id is set but encrypted is false: a key only applies to an encrypted volume")
	}
	return nil
}

// ValidateHTTPTokens checks the IMDS token setting.
func ValidateHTTPTokens(s string) error { return oneOf("http_tokens value", s, httpTokenValues) }

// ValidateHopLimit checks the IMDS response hop limit.
func ValidateHopLimit(n int64) error {
	if n < 1 || n > 64 {
		return fmt.Errorf("%d is not a hop limit: give 1 to 64 (1 keeps instance credentials away from pods)", n)
	}
	return nil
}

// ValidateOpenPort checks "port", "from-to", optionally followed by "/tcp" or "/udp".
func ValidateOpenPort(s string) error {
	m := openPortRe.FindStringSubmatch(s)
	bad := fmt.Errorf("%q is not a port: give a port or range with an optional protocol, such as \"443\", \"30000-32767/tcp\" or \"8472/udp\"", s)
	if m == nil {
		return bad
	}
	from, _ := strconv.Atoi(m[1])
	to := from
	if m[3] != "" {
		to, _ = strconv.Atoi(m[3])
	}
	if from < 1 || to > 65535 || from > to {
		return bad
	}
	return nil
}

// ValidateCIDR checks an IPv4 or IPv6 CIDR block whose host bits are zero.
func ValidateCIDR(s string) error {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return fmt.Errorf("%q is not a CIDR block: give an address and prefix length, such as 203.0.113.0/24", s)
	}
	if !ip.Equal(n.IP) {
		return fmt.Errorf("%q has host bits set: did you mean %s?", s, n.String())
	}
	return nil
}

// ValidateURL checks an absolute http or https URL.
func ValidateURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not a URL: give an absolute https:// (or http://) URL", s)
	}
	return nil
}

// ValidateRegistryHost checks an insecure registry: host[:port] or a CIDR block.
func ValidateRegistryHost(s string) error {
	if strings.Contains(s, "://") {
		return fmt.Errorf("%q is not a registry host: give host[:port] without a scheme, such as registry.internal:5000", s)
	}
	if strings.Contains(s, "/") {
		return ValidateCIDR(s)
	}
	if !registryHostRe.MatchString(s) {
		return fmt.Errorf("%q is not a registry host: give host[:port], such as registry.internal:5000, or a CIDR block", s)
	}
	return nil
}

// ValidateEnvName checks an environment variable name.
func ValidateEnvName(s string) error {
	if !envNameRe.MatchString(s) {
		return fmt.Errorf("%q is not an environment variable name: use letters, digits and '_', not starting with a digit", s)
	}
	return nil
}

// ValidateEngineOption checks a container engine daemon option name, such as "log-driver".
func ValidateEngineOption(s string) error {
	if !engineOptionRe.MatchString(s) {
		return fmt.Errorf("%q is not a daemon option name: use the option without dashes in front, such as \"log-driver\"", s)
	}
	return nil
}

// ValidateStorageDriver checks a container engine storage driver (or containerd snapshotter).
func ValidateStorageDriver(s string) error { return oneOf("storage driver", s, storageDrivers) }

// ValidateKMSKey checks the key that encrypts root volumes: key ID, key ARN, alias or alias ARN.
func ValidateKMSKey(s string) error {
	if !kmsKeyRe.MatchString(s) {
		return fmt.Errorf("%q is not a KMS key: give a key ID, key ARN, alias/name or alias ARN", s)
	}
	return nil
}

// ValidateUserData checks extra user data: a cloud-config or a script, small enough to fit
// beside the Kubernetes bootstrap.
func ValidateUserData(s string) error {
	if len(s) > MaxExtraUserData {
		return fmt.Errorf("extra user data is %d bytes; at most %d fit beside the Kubernetes bootstrap in EC2's 16 KiB", len(s), MaxExtraUserData)
	}
	if !strings.HasPrefix(s, "#cloud-config") && !strings.HasPrefix(s, "#!") {
		return fmt.Errorf("extra user data must be a cloud-config (starting with #cloud-config, merged into the node's) or a script (starting with #!, run after the bootstrap)")
	}
	return nil
}

// ValidateTags checks tags against EC2's limits and the keys the provider sets itself.
func ValidateTags(tags map[string]string) []error {
	var errs []error
	if len(tags) > MaxUserTags {
		errs = append(errs, fmt.Errorf("%d tags given; at most %d: EC2 allows %d per resource and the provider keeps %d for its own", len(tags), MaxUserTags, MaxTags, ReservedTags))
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		v := tags[k]
		switch {
		case k == "" || len(k) > 128:
			errs = append(errs, fmt.Errorf("tag key %q must be 1 to 128 characters", k))
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			errs = append(errs, fmt.Errorf("tag key %q: the aws: prefix is reserved by AWS", k))
		case k == TagName || strings.HasPrefix(k, TagPrefix) || strings.HasPrefix(k, ClusterTag("")):
			errs = append(errs, fmt.Errorf("tag key %q is set by the provider on every node (Name, ec2k8s:*, kubernetes.io/cluster/*); pick another key", k))
		}
		if len(v) > 256 {
			errs = append(errs, fmt.Errorf("tag %q: value is %d characters; at most 256", k, len(v)))
		}
	}
	return errs
}

// ValidateLabelKey checks a Kubernetes label or taint key: [prefix/]name.
func ValidateLabelKey(s string) error {
	prefix, name, found := strings.Cut(s, "/")
	if !found {
		name, prefix = prefix, ""
	}
	if found && (prefix == "" || len(prefix) > 253 || !dnsSubdomainRe.MatchString(prefix)) {
		return fmt.Errorf("%q is not a Kubernetes label key: the prefix before '/' must be a DNS subdomain such as example.com", s)
	}
	if !labelNameRe.MatchString(name) {
		return fmt.Errorf("%q is not a Kubernetes label key: the name must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", s)
	}
	return nil
}

// ValidateNodeLabelKey checks a label key for a node's kubelet (`node-label`): a Kubernetes label
// key, and none of the kubernetes.io or k8s.io namespaces except the labels a kubelet may set
// itself. The kubelet refuses to start with any other (node-role.kubernetes.io/* among them), so
// the node would never register.
func ValidateNodeLabelKey(s string) error {
	if err := ValidateLabelKey(s); err != nil {
		return err
	}
	prefix, _, found := strings.Cut(s, "/")
	if !found || kubeletapis.IsKubeletLabel(s) {
		return nil
	}
	for _, ns := range []string{"kubernetes.io", "k8s.io"} {
		if prefix == ns || strings.HasSuffix(prefix, "."+ns) {
			return fmt.Errorf("%q is in the %s namespace, which a kubelet may not label its node with (only %s and the %s/ prefixes): "+
				"the node would not register; use a key of your own domain, such as example.com/role", s, ns,
				strings.Join(kubeletapis.KubeletLabels(), ", "), strings.Join(kubeletapis.KubeletLabelNamespaces(), "/, "))
		}
	}
	return nil
}

// ValidateLabelValue checks a Kubernetes label or taint value.
func ValidateLabelValue(s string) error {
	if s != "" && !labelNameRe.MatchString(s) {
		return fmt.Errorf("%q is not a Kubernetes label value: use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", s)
	}
	return nil
}

// ValidateTaintEffect checks a taint effect.
func ValidateTaintEffect(s string) error { return oneOf("taint effect", s, taintEffects) }

func oneOf(what, s string, allowed []string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not a supported %s: use one of %s", s, what, strings.Join(allowed, ", "))
}
