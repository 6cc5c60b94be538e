package provisioning

import (
	"strings"
	"testing"
)

// validatorCase is one value for one validator: want is "" for a good value, else a fragment
// of the message the user must see.
type validatorCase struct {
	value string
	want  string
}

func runValidator(t *testing.T, name string, fn func(string) error, cases []validatorCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(name+"/"+c.value, func(t *testing.T) {
			err := fn(c.value)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%s(%q) = %v; want no error", name, c.value, err)
			case c.want != "" && err == nil:
				t.Errorf("%s(%q) accepted; want an error containing %q", name, c.value, c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Errorf("%s(%q) = %q; want it to contain %q", name, c.value, err, c.want)
			}
		})
	}
}

func TestStringValidators(t *testing.T) {
	runValidator(t, "ValidateName", ValidateName, []validatorCase{
		{"ubuntu", ""}, {"pool_1.a-b", ""},
		{"", "not a valid name"}, {"-lead", "starting with a letter or digit"}, {"has space", "not a valid name"}, {strings.Repeat("n", 64), "1 to 63"},
	})
	runValidator(t, "ValidateRegion", ValidateRegion, []validatorCase{
		{"us-west-2", ""}, {"ap-southeast-5", ""},
		{"us-west-2a", "not an AWS region"}, {"Oregon", "not an AWS region"}, {"*", "not an AWS region"},
	})
	runValidator(t, "ValidateZone", ValidateZone, []validatorCase{
		{"a", ""}, {"us-west-2a", ""}, {"us-west-2-lax-1a", ""},
		{"A", "not an availability zone"}, {"ab", "not an availability zone"}, {"us-west-2", "give a letter"}, {"2a", "not an availability zone"},
	})
	runValidator(t, "ValidateVPCID", ValidateVPCID, []validatorCase{
		{"vpc-0123456789abcdef0", ""}, {"vpc-12345678", ""},
		{"vpc-xyz", "not a VPC ID"}, {"subnet-12345678", "expected vpc-"}, {"vpc-123", "8 or 17 hex digits"},
	})
	runValidator(t, "ValidateSubnetID", ValidateSubnetID, []validatorCase{
		{"subnet-0123456789abcdef0", ""}, {"sub-12345678", "not a subnet ID"}, {"subnet-ABCDEF12", "not a subnet ID"},
	})
	runValidator(t, "ValidateAMI", ValidateAMI, []validatorCase{
		{"ami-0a1b2c3d4e5f60001", ""}, {"ami-12345678", ""}, {"ubuntu-24.04", "not a AMI ID"}, {"ami-", "not a AMI ID"},
	})
	runValidator(t, "ValidateSecurityGroup", ValidateSecurityGroup, []validatorCase{
		{"rancher-nodes", ""}, {"sg-0123456789abcdef0", ""}, {"My Group", ""},
		{"sg-zz", "not a security group ID"}, {"", "not a security group name"}, {" padded", "leading or trailing spaces"}, {"grüße", "only printable ASCII"},
	})
	runValidator(t, "ValidateInstanceType", ValidateInstanceType, []validatorCase{
		{"t3.medium", ""}, {"m7g.large", ""}, {"u-6tb1.metal", ""}, {"large", "not an EC2 instance type"}, {"T3.Medium", "not an EC2 instance type"}, {"t3.", "family.size"},
	})
	runValidator(t, "ValidateVolumeType", ValidateVolumeType, []validatorCase{
		{"gp3", ""}, {"standard", ""}, {"io9", "use one of gp2, gp3, standard"}, {"GP3", "not a supported volume type"},
	})
	runValidator(t, "ValidateSSHUser", ValidateSSHUser, []validatorCase{
		{"ubuntu", ""}, {"ec2-user", ""}, {"Root", "not a Linux user name"}, {"1user", "not starting with a digit"}, {"", "not a Linux user name"},
	})
	runValidator(t, "ValidateSSHPublicKey", ValidateSSHPublicKey, []validatorCase{
		{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG0K me@host", ""}, {"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==", ""},
		{"-----BEGIN OPENSSH PRIVATE KEY-----", "not the private key"}, {"ecdsa-sha2-nistp256 AAAAE2Vj", "not an OpenSSH public key EC2 can import"}, {"ssh-ed25519", "not an OpenSSH public key"},
	})
	runValidator(t, "ValidateInstanceProfile", ValidateInstanceProfile, []validatorCase{
		{"k8s-node", ""}, {"arn:aws:iam::123456789012:instance-profile/path/k8s-node", ""},
		{"has space", "not an IAM instance profile"}, {"arn:aws:iam::123:instance-profile/x", "not an IAM instance profile"},
	})
	runValidator(t, "ValidateHTTPTokens", ValidateHTTPTokens, []validatorCase{
		{"required", ""}, {"optional", ""}, {"maybe", "use one of optional, required"},
	})
	runValidator(t, "ValidateOpenPort", ValidateOpenPort, []validatorCase{
		{"443", ""}, {"30000-32767/tcp", ""}, {"8472/udp", ""},
		{"70000", "not a port"}, {"0", "not a port"}, {"500-100", "not a port"}, {"80/icmp", "not a port"}, {"http", "not a port"},
	})
	runValidator(t, "ValidateCIDR", ValidateCIDR, []validatorCase{
		{"203.0.113.0/24", ""}, {"0.0.0.0/0", ""}, {"2001:db8::/32", ""},
		{"10.0.0.1/8", "did you mean 10.0.0.0/8?"}, {"10.0.0.0", "not a CIDR block"}, {"10.0.0.0/33", "not a CIDR block"},
	})
	runValidator(t, "ValidateURL", ValidateURL, []validatorCase{
		{"https://get.rke2.io", ""}, {"http://mirror.internal:5000", ""}, {"get.docker.com", "not a URL"}, {"ftp://x", "not a URL"},
	})
	runValidator(t, "ValidateRegistryHost", ValidateRegistryHost, []validatorCase{
		{"registry.internal:5000", ""}, {"10.0.0.0/8", ""}, {"http://reg:5000", "without a scheme"}, {"reg_istry", "not a registry host"}, {"10.0.0.1/8", "host bits"},
	})
	runValidator(t, "ValidateEnvName", ValidateEnvName, []validatorCase{
		{"HTTPS_PROXY", ""}, {"_x", ""}, {"1PROXY", "not starting with a digit"}, {"NO-PROXY", "not an environment variable name"},
	})
	runValidator(t, "ValidateEngineOption", ValidateEngineOption, []validatorCase{
		{"log-driver", ""}, {"--debug", "without dashes in front"}, {"Debug", "not a daemon option name"},
	})
	runValidator(t, "ValidateStorageDriver", ValidateStorageDriver, []validatorCase{
		{"overlayfs", ""}, {"overlay2", ""}, {"aufs", "not a supported storage driver"},
	})
	runValidator(t, "ValidateKMSKey", ValidateKMSKey, []validatorCase{
		{"1234abcd-12ab-34cd-56ef-1234567890ab", ""}, {"alias/ebs", ""}, {"arn:aws:kms:us-west-2:111122223333:alias/ebs", ""},
		{"my-key", "not a KMS key"}, {"arn:aws:kms:us-west-2:111122223333:key/short", "not a KMS key"},
	})
	runValidator(t, "ValidateLabelKey", ValidateLabelKey, []validatorCase{
		{"tier", ""}, {"topology.example.com/tier", ""},
		{"-bad", "starting and ending with a letter or digit"}, {"Example.COM/x", "prefix before '/' must be a DNS subdomain"}, {"/x", "DNS subdomain"}, {strings.Repeat("k", 64), "1 to 63"},
	})
	runValidator(t, "ValidateNodeLabelKey", ValidateNodeLabelKey, []validatorCase{
		{"tier", ""}, {"example.com/tier", ""}, {"node.kubernetes.io/exclude-from-external-load-balancers", ""},
		{"topology.kubernetes.io/zone", ""}, {"my.kubelet.kubernetes.io/x", ""}, {"kubernetes.io.example.com/x", ""},
		{"node-role.kubernetes.io/worker", "a kubelet may not label its node with"}, {"kubernetes.io/role", "kubernetes.io namespace"},
		{"x.k8s.io/y", "k8s.io namespace"}, {"-bad", "starting and ending"},
	})
	runValidator(t, "ValidateLabelValue", ValidateLabelValue, []validatorCase{
		{"", ""}, {"core", ""}, {"has space", "not a Kubernetes label value"}, {strings.Repeat("v", 64), "at most 63"},
	})
	runValidator(t, "ValidateTaintEffect", ValidateTaintEffect, []validatorCase{
		{"NoSchedule", ""}, {"Never", "use one of NoExecute, NoSchedule, PreferNoSchedule"},
	})
	runValidator(t, "ValidateUserData", ValidateUserData, []validatorCase{
		{"#cloud-config\n", ""}, {strings.Repeat("x", MaxExtraUserData+1), "at most 8192 fit"},
	})
}

func TestNumericAndCrossValidators(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"root size 4", ValidateRootSize(4), "not a usable root volume size"},
		{"root size huge", ValidateRootSize(20000), "8 to 16384"},
		{"hop limit 0", ValidateHopLimit(0), "1 to 64"},
		{"hop limit 65", ValidateHopLimit(65), "not a hop limit"},
		{"spot price 0", ValidateSpotPrice(0), "not a spot price"},
		{"spot price negative", ValidateSpotPrice(-1), "US dollars per hour"},
		{"spot without request", CheckSpot(false, 0.05), "set request_spot_instance = true"},
		{"private only, not private", CheckPrivateAddress(true, false), "use_private_address cannot be false"},
		{"kms without encryption", CheckEncryption(false, "alias/x"), "encrypted is false"},
		{"zone of other region", CheckZoneInRegion("us-west-2", "eu-west-1a"), `not a zone of region "us-west-2"`},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error = %v; want it to contain %q", c.name, c.err, c.want)
		}
	}
	for name, err := range map[string]error{
		"root size 32": ValidateRootSize(32), "hop limit 2": ValidateHopLimit(2), "spot price": ValidateSpotPrice(0.05),
		"spot with request": CheckSpot(true, 0.05), "no spot price": CheckSpot(false, 0), "private both": CheckPrivateAddress(true, true),
		"kms with encryption": CheckEncryption(true, "alias/x"), "zone letter": CheckZoneInRegion("us-west-2", "a"), "zone name": CheckZoneInRegion("us-west-2", "us-west-2c"),
	} {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
		}
	}
}

func TestValidateTags(t *testing.T) {
	many := map[string]string{}
	for i := range MaxUserTags + 1 {
		many[strings.Repeat("k", i%5+1)+string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
	}
	for _, c := range []struct {
		name string
		tags map[string]string
		want string
	}{
		{"too many", many, "at most 39"},
		{"Name", map[string]string{TagName: "x"}, `"` + TagName + `" is set by the provider`},
		{"cluster tag", map[string]string{ClusterTag("demo"): "owned"}, "set by the provider"},
		{"ec2k8s tag", map[string]string{TagPool: "x"}, "set by the provider"},
		{"any ec2k8s: key", map[string]string{TagPrefix + "custom": "x"}, "set by the provider"},
		{"aws prefix", map[string]string{"AWS:owner": "x"}, "reserved by AWS"},
		{"long key", map[string]string{strings.Repeat("k", 129): "x"}, "1 to 128 characters"},
		{"long value", map[string]string{"team": strings.Repeat("v", 257)}, "at most 256"},
	} {
		errs := ValidateTags(c.tags)
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%s: errors = %v; want the first to contain %q", c.name, errs, c.want)
		}
	}
	if errs := ValidateTags(map[string]string{"team": "platform", "cost-center": "42"}); len(errs) != 0 {
		t.Errorf("good tags: %v", errs)
	}
}

func TestTopologyWarnings(t *testing.T) {
	for _, c := range []struct {
		roles    Roles
		quantity int64
		want     []string
	}{
		{Roles{Etcd: true}, 3, nil},
		{Roles{Etcd: true}, 2, []string{"2 etcd nodes tolerate no more failures than 1"}},
		{Roles{Etcd: true}, 0, nil},
		{Roles{Worker: true}, 2, nil},
		{Roles{Etcd: true, ControlPlane: true, Worker: true}, 1, []string{"etcd and controlplane and worker at once"}},
		{Roles{Etcd: true, Worker: true}, 4, []string{"not for production", "use an odd number"}},
	} {
		got := TopologyWarnings(c.roles, c.quantity)
		if len(got) != len(c.want) {
			t.Errorf("TopologyWarnings(%+v, %d) = %q; want %d warnings", c.roles, c.quantity, got, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("warning %d = %q; want it to contain %q", i, got[i], w)
			}
		}
	}
}
