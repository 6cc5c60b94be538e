package bootstrap

import (
	"strings"
	"testing"
)

func TestClusterValidators(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string // "" for no error
	}{
		{"name", ValidateClusterName("demo"), ""},
		{"name upper", ValidateClusterName("Demo"), "not a cluster name"},
		{"name long", ValidateClusterName(strings.Repeat("d", 41)), "1 to 40"},
		{"prefix", ValidateHostnamePrefix("demo-etcd-"), ""},
		{"prefix dot", ValidateHostnamePrefix("demo.etcd"), "not a hostname prefix"},
		{"dist", ValidateDistribution("rke2"), ""},
		{"dist bad", ValidateDistribution("eks"), "use one of rke2, k3s"},
		{"version", ValidateVersion("rke2", "v1.31.4+rke2r1"), ""},
		{"version k3s on rke2", ValidateVersion("rke2", "v1.31.4+k3s1"), "not a rke2 version"},
		{"version old", ValidateVersion("k3s", "v1.24.1+k3s1"), "1.24 is not supported"},
		{"plugin", ValidateNetworkPlugin("rke2", "cilium"), ""},
		{"plugin canal on k3s", ValidateNetworkPlugin("k3s", "canal"), `use distribution = "rke2" for it`},
		{"plugin bogus on k3s", ValidateNetworkPlugin("k3s", "weave"), "not a supported k3s network plugin"},
		{"policy flannel", CheckNetworkPolicy("rke2", "flannel", true), "does not enforce NetworkPolicy"},
		{"policy canal", CheckNetworkPolicy("rke2", "canal", true), ""},
		{"upgrade", CheckUpgrade("rke2", "v1.31.4+rke2r1", "v1.32.1+rke2r1"), ""},
		{"patch", CheckUpgrade("rke2", "v1.31.4+rke2r1", "v1.31.5+rke2r1"), ""},
		{"downgrade", CheckUpgrade("rke2", "v1.31.4+rke2r1", "v1.31.3+rke2r1"), "is a downgrade"},
		{"skip", CheckUpgrade("rke2", "v1.30.4+rke2r1", "v1.32.1+rke2r1"), "upgrade to 1.31 first"},
		{"role", ValidateMemberRole("read-only"), ""},
		{"role bad", ValidateMemberRole("admin"), "use one of cluster-owner, cluster-member, read-only"},
		{"cloud provider", ValidateCloudProvider("gce"), "use one of none, aws"},
	} {
		switch {
		case c.want == "" && c.err != nil:
			t.Errorf("%s: unexpected error %v", c.name, c.err)
		case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want)):
			t.Errorf("%s: error = %v; want it to contain %q", c.name, c.err, c.want)
		}
	}
	for _, d := range Distributions {
		if err := ValidateVersion(d, DefaultVersion(d)); err != nil {
			t.Errorf("default %s version: %v", d, err)
		}
		if err := ValidateNetworkPlugin(d, DefaultNetworkPlugin(d)); err != nil {
			t.Errorf("default %s plugin: %v", d, err)
		}
	}
}

// TestCheckAPIHost: a DNS name in api_server_url is in the servers' certificates only as the
// registration address; IP addresses and localhost are not judged.
func TestCheckAPIHost(t *testing.T) {
	for _, tc := range []struct {
		url, registration string
		warn              bool
	}{
		{"https://k8s.example.com:6443", "k8s.example.com", false},
		{"https://K8S.example.com:6443", "k8s.example.com", false},
		{"https://k8s.example.com:6443", "", true},
		{"https://k8s.example.com:6443", "10.0.0.10", true},
		{"https://api.example.com", "k8s.example.com", true},
		{"https://203.0.113.7:6443", "", false},
		{"https://[2001:db8::1]:6443", "", false},
		{"https://127.0.0.1:6443", "", false},
		{"https://localhost:6443", "", false},
		{"https://kubernetes.default.svc", "", false},
	} {
		err := CheckAPIHost(tc.url, tc.registration)
		if (err != nil) != tc.warn {
			t.Errorf("CheckAPIHost(%q, %q) = %v; want a warning %v", tc.url, tc.registration, err, tc.warn)
		}
		if err != nil && !strings.Contains(err.Error(), "set registration_address") {
			t.Errorf("the warning does not say what to do: %v", err)
		}
	}
}
