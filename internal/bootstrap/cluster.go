package bootstrap

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Distributions are the Kubernetes distributions a cluster can run.
var Distributions = []string{"rke2", "k3s"}

// Supported Kubernetes minor versions, and the default release of each distribution.
const (
	MinMinor = 30
	MaxMinor = 34
)

var defaultVersions = map[string]string{"rke2": "v1.33.5+rke2r1", "k3s": "v1.33.5+k3s1"}

var (
	versionRe = map[string]*regexp.Regexp{"rke2": regexp.MustCompile(`^v1\.([0-9]+)\.([0-9]+)\+rke2r([0-9]+)$`), "k3s": regexp.MustCompile(`^v1\.([0-9]+)\.([0-9]+)\+k3s([0-9]+)$`)}
	// k3s bundles only flannel; with "none" the user brings a CNI. The others are rke2's.
	networkPlugins = map[string][]string{"rke2": {"canal", "calico", "cilium", "flannel", "none"}, "k3s": {"flannel", "none"}}
	clusterNameRe  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$`)
	hostPrefixRe   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,48})$`)
)

// CloudProviders and MemberRoles list the values those settings take.
var (
	CloudProviders = []string{"none", "aws"}
	MemberRoles    = []string{"cluster-owner", "cluster-member", "read-only"}
)

// DefaultVersion returns the Kubernetes version a new cluster of dist gets.
func DefaultVersion(dist string) string { return defaultVersions[dist] }

// DefaultNetworkPlugin returns the network plugin a new cluster of dist gets.
func DefaultNetworkPlugin(dist string) string {
	if dist == "k3s" {
		return "flannel"
	}
	return "canal"
}

// ValidateClusterName checks a cluster name: a DNS-1123 label short enough to prefix node names.
func ValidateClusterName(s string) error {
	if !clusterNameRe.MatchString(s) {
		return fmt.Errorf("%q is not a cluster name: use 1 to 40 lowercase letters, digits and '-', starting and ending with a letter or digit (a DNS label, kept short so node names fit)", s)
	}
	return nil
}

// ValidateHostnamePrefix checks the prefix of a pool's node names.
func ValidateHostnamePrefix(s string) error {
	if !hostPrefixRe.MatchString(s) {
		return fmt.Errorf("%q is not a hostname prefix: use 1 to 49 lowercase letters, digits and '-', starting with a letter or digit, such as \"demo-etcd-\"", s)
	}
	return nil
}

// ValidateDistribution checks a distribution name.
func ValidateDistribution(s string) error { return oneOf("distribution", s, Distributions) }

// ValidateCloudProvider checks a Kubernetes cloud provider.
func ValidateCloudProvider(s string) error { return oneOf("cloud provider", s, CloudProviders) }

// ValidateMemberRole checks a cluster member's role.
func ValidateMemberRole(s string) error { return oneOf("member role", s, MemberRoles) }

// ValidateVersion checks that v is a release of dist within the supported minors.
func ValidateVersion(dist, v string) error {
	re, ok := versionRe[dist]
	if !ok {
		return ValidateDistribution(dist)
	}
	m := re.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("%q is not a %s version: expected the form %s", v, dist, DefaultVersion(dist))
	}
	if minor, _ := strconv.Atoi(m[1]); minor < MinMinor || minor > MaxMinor {
		return fmt.Errorf("%q: Kubernetes 1.%d is not supported; use 1.%d to 1.%d", v, minor, MinMinor, MaxMinor)
	}
	return nil
}

// ValidateNetworkPlugin checks that dist can run plugin.
func ValidateNetworkPlugin(dist, plugin string) error {
	err := oneOf(dist+" network plugin", plugin, networkPlugins[dist])
	if err != nil && dist == "k3s" && slices.Contains(networkPlugins["rke2"], plugin) {
		return fmt.Errorf("k3s runs flannel or none, not %s: %s ships with rke2, so use distribution = \"rke2\" for it (or network_plugin = \"none\" and install it yourself)", plugin, plugin)
	}
	return err
}

// CheckNetworkPolicy checks that the network plugin enforces NetworkPolicy when asked to.
func CheckNetworkPolicy(dist, plugin string, enabled bool) error {
	if enabled && dist == "rke2" && (plugin == "flannel" || plugin == "none") {
		return fmt.Errorf("network plugin %q does not enforce NetworkPolicy on rke2: use canal, calico or cilium, or set enable_network_policy = false", plugin)
	}
	return nil
}

// CheckUpgrade checks a Kubernetes version change: no downgrade, one minor at a time.
func CheckUpgrade(dist, from, to string) error {
	if from == to || from == "" {
		return nil
	}
	fm, tm := parse(dist, from), parse(dist, to)
	if fm == nil || tm == nil {
		return nil // the format checks report it
	}
	for i := range fm {
		if tm[i] != fm[i] {
			if tm[i] < fm[i] {
				return fmt.Errorf("%s to %s is a downgrade, which Kubernetes does not support: keep %s or go up", from, to, from)
			}
			break
		}
	}
	if tm[0] > fm[0]+1 {
		return fmt.Errorf("%s to %s skips a minor version: upgrade to 1.%d first, then to 1.%d", from, to, fm[0]+1, tm[0])
	}
	return nil
}

// CompareVersions orders two releases of dist: negative when a is older than b, zero when
// equal, positive when newer; a release it cannot read counts as equal.
func CompareVersions(dist, a, b string) int {
	pa, pb := parse(dist, a), parse(dist, b)
	if pa == nil || pb == nil {
		return 0
	}
	for i := range pa {
		if pa[i] != pb[i] {
			return pa[i] - pb[i]
		}
	}
	return 0
}

func parse(dist, v string) []int {
	re, ok := versionRe[dist]
	if !ok {
		return nil
	}
	m := re.FindStringSubmatch(v)
	if m == nil {
		return nil
	}
	out := make([]int, 3)
	for i := range out {
		out[i], _ = strconv.Atoi(m[i+1])
	}
	return out
}

func oneOf(what, s string, allowed []string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not a supported %s: use one of %s", s, what, strings.Join(allowed, ", "))
}
