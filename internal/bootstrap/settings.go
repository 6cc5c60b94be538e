package bootstrap

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Defaults of the cluster network: RKE2's and k3s's own.
const (
	DefaultClusterCIDR = "10.42.0.0/16"
	DefaultServiceCIDR = "10.43.0.0/16"
	DefaultClusterDNS  = "10.43.0.10"
)

// Container runtimes a cluster can use; docker only with k3s (RKE2 dropped it).
var ContainerRuntimes = []string{"containerd", "docker"}

var installScriptURLs = map[string]string{"rke2": "https://get.rke2.io", "k3s": "https://get.k3s.io"}

// DefaultInstallScriptURL is the distribution's own install script.
func DefaultInstallScriptURL(dist string) string { return installScriptURLs[dist] }

// ValidateURL checks an http(s) URL.
func ValidateURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL, such as https://get.rke2.io", s)
	}
	return nil
}

// CheckAPIHost says when the API's URL names a host the servers' certificates do not: they hold
// each server's own IPv4 addresses (tls-san from IMDS), its node name, the registration address,
// localhost and the API's in-cluster service names. Another DNS name is not among them, so TLS to
// it fails (a node name is not known to the cluster: one would be warned about, wrongly, and
// would only be reached while that node lives). An IP address may be a server's own: it is not
// judged.
func CheckAPIHost(apiURL, registrationAddress string) error {
	host := ""
	if u, err := url.Parse(apiURL); err == nil { // else ValidateURL says why
		host = strings.ToLower(u.Hostname())
	}
	if host == "" || ValidateIP(host) == nil || host == strings.ToLower(registrationAddress) ||
		slices.Contains([]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}, host) {
		return nil
	}
	return fmt.Errorf("the servers' certificates name their own IP addresses and the registration address, not %q, so a client of %s "+
		"fails to verify them: set registration_address = %q (nodes then join through it too), or give api_server_url an address they name",
		host, apiURL, host)
}

// ValidateCIDRs checks a cluster or service CIDR: one CIDR, or an IPv4 and an IPv6 one separated
// by a comma (dual stack), each a network address.
func ValidateCIDRs(s string) error {
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return fmt.Errorf("%q: give one CIDR, or an IPv4 and an IPv6 CIDR separated by a comma", s)
	}
	families := map[bool]bool{}
	for _, part := range parts {
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR block such as %s", part, DefaultClusterCIDR)
		}
		if p.Masked() != p {
			return fmt.Errorf("%q is not a network address: did you mean %s?", part, p.Masked())
		}
		if families[p.Addr().Is4()] {
			return fmt.Errorf("%q: two CIDRs of the same address family", s)
		}
		families[p.Addr().Is4()] = true
	}
	return nil
}

// ValidateIP checks an IP address.
func ValidateIP(s string) error {
	if _, err := netip.ParseAddr(s); err != nil {
		return fmt.Errorf("%q is not an IP address, such as %s", s, DefaultClusterDNS)
	}
	return nil
}

// CheckNetwork checks the cluster network as a whole: pod and service CIDRs apart, the DNS
// service address inside the service CIDR.
func CheckNetwork(clusterCIDR, serviceCIDR, clusterDNS string) error {
	for _, bad := range []error{ValidateCIDRs(clusterCIDR), ValidateCIDRs(serviceCIDR), ValidateIP(clusterDNS)} {
		if bad != nil {
			return nil //nolint:nilerr // NO-OP: the attribute validators report these
		}
	}
	for _, c := range strings.Split(clusterCIDR, ",") {
		for _, s := range strings.Split(serviceCIDR, ",") {
			if a, b := netip.MustParsePrefix(c), netip.MustParsePrefix(s); a.Overlaps(b) {
				return fmt.Errorf("cluster_cidr %s and service_cidr %s overlap: pods and services need address ranges of their own", c, s)
			}
		}
	}
	dns := netip.MustParseAddr(clusterDNS)
	for _, s := range strings.Split(serviceCIDR, ",") {
		if netip.MustParsePrefix(s).Contains(dns) {
			return nil
		}
	}
	return fmt.Errorf("cluster_dns %s is not in service_cidr %s: the DNS service gets its address from the service range", clusterDNS, serviceCIDR)
}

// ValidateRegistrationAddress checks the address nodes join and users reach the API by: an IP
// address or a DNS name, without scheme or port.
func ValidateRegistrationAddress(s string) error {
	if ValidateIP(s) == nil {
		return nil
	}
	if !dnsNameRe.MatchString(s) || len(s) > 253 {
		return fmt.Errorf("%q is not an IP address or a DNS name: give the address alone, such as k8s.example.com, without https:// or a port", s)
	}
	return nil
}

var (
	dnsNameRe   = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	installEnvs = map[string]*regexp.Regexp{"rke2": regexp.MustCompile(`^INSTALL_RKE2_[A-Z0-9_]+$`), "k3s": regexp.MustCompile(`^INSTALL_K3S_[A-Z0-9_]+$`)}
	// installEnvOwned are the variables the provider sets itself from other attributes.
	installEnvOwned = []string{"INSTALL_RKE2_VERSION", "INSTALL_RKE2_TYPE", "INSTALL_K3S_VERSION", "INSTALL_K3S_EXEC",
		"INSTALL_K3S_SKIP_START", "INSTALL_K3S_SKIP_ENABLE", "INSTALL_RKE2_SKIP_START", "INSTALL_RKE2_SKIP_ENABLE"}
)

// ValidateInstallEnv checks the extra variables of the install script: each an INSTALL_* variable
// of the distribution's script, none of those the provider sets from other attributes.
func ValidateInstallEnv(dist string, env map[string]string) []error {
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(env)) {
		switch {
		case slices.Contains(installEnvOwned, k):
			errs = append(errs, fmt.Errorf("%s is set by the provider (from kubernetes_version and the pool's roles); remove it from install_env", k))
		case installEnvs[dist] != nil && !installEnvs[dist].MatchString(k):
			prefix := map[string]string{"rke2": "INSTALL_RKE2_", "k3s": "INSTALL_K3S_"}[dist]
			errs = append(errs, fmt.Errorf("%q is not a variable of the %s install script: use %s* variables, such as %sARTIFACT_PATH", k, dist, prefix, prefix))
		case strings.ContainsAny(env[k], "\n\x00"):
			errs = append(errs, fmt.Errorf("%s: the value holds a newline", k))
		}
	}
	return errs
}

// ValidateContainerRuntime checks the container runtime against the distribution.
func ValidateContainerRuntime(dist, runtime string) error {
	if err := oneOf("container runtime", runtime, ContainerRuntimes); err != nil {
		return err
	}
	if runtime == "docker" && dist != "k3s" {
		return fmt.Errorf("%s has no docker runtime: use container_runtime = \"containerd\", or distribution = \"k3s\" (k3s runs on docker with docker: true)", dist)
	}
	return nil
}

// ValidateRegistry checks a registry host for system_default_registry: host[:port], no scheme.
func ValidateRegistry(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, ""
	}
	if strings.Contains(s, "/") || !dnsNameRe.MatchString(host) && ValidateIP(host) != nil || port != "" && !portRe.MatchString(port) {
		return fmt.Errorf("%q is not a registry host: give host[:port], such as registry.example.com:5000, without https://", s)
	}
	return nil
}

var portRe = regexp.MustCompile(`^[1-9][0-9]{0,4}$`)

// ValidateCron checks a five-field cron schedule, such as "0 */12 * * *".
func ValidateCron(s string) error {
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return fmt.Errorf("%q is not a cron schedule: give five fields (minute hour day month weekday), such as \"0 */12 * * *\"", s)
	}
	for _, f := range fields {
		if !cronFieldRe.MatchString(f) {
			return fmt.Errorf("%q: %q is not a cron field", s, f)
		}
	}
	return nil
}

var cronFieldRe = regexp.MustCompile(`^(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/[0-9]+)?)*$`)
