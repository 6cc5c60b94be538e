package provisioning

import (
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"strings"
	"testing"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// TestNodeSpecHash_golden pins the hash of a fixed spec. A change to NodeSpec's encoding changes
// every pool's hash, and the next apply of every user replaces all their nodes: if this test
// fails, the change is wrong, not the golden value.
func TestNodeSpecHash_golden(t *testing.T) {
	p := testPool(3, "v1.33.5+rke2r1")
	got := hashOf(t, p)
	if want := "fa7dca1435872fc5"; got != want {
		t.Errorf("Hash() = %s; want %s", got, want)
	}
	// Order of sets means nothing; the launch index base is not part of the spec.
	p.Spec.Launch.SecurityGroups = []string{"b", "a"}
	q := testPool(3, "v1.33.5+rke2r1")
	q.Spec.Launch.SecurityGroups = []string{"a", "b"}
	q.Spec.Boot.IndexBase = 7
	if hashOf(t, p) != hashOf(t, q) {
		t.Error("the hash depends on the order of security groups or on IndexBase")
	}
}

func TestNodeSpec_userDataLimit(t *testing.T) {
	p := testPool(1, "v1")
	if err := p.Spec.CheckUserData(); err != nil {
		t.Fatalf("a plain node's user data: %v", err)
	}
	p.Spec.Boot.Labels = map[string]string{}
	// Random values: gzip cannot make them fit.
	rnd := mrand.New(mrand.NewSource(1))
	for i := range 700 {
		b := make([]byte, 30)
		rnd.Read(b)
		p.Spec.Boot.Labels[fmt.Sprintf("example.com/label-%03d", i)] = hex.EncodeToString(b)
	}
	err := p.Spec.CheckUserData()
	if err == nil || !strings.Contains(err.Error(), "even gzip-compressed; EC2 accepts at most 16384 (16 KiB)") || !strings.Contains(err.Error(), "the w nodes is") {
		t.Fatalf("error = %v; want one naming the size and the limit", err)
	}
}

func TestManagedRules_normalisedOnce(t *testing.T) {
	rules := ManagedRules([]string{"10.1.2.3/8", "10.0.0.0/8", "2001:db8::1/32"}, []string{"443", "30000-32767/udp", "8080", "8080/tcp", "9000-9001/UDP"})
	seen := map[string]int{}
	for _, r := range rules {
		seen[r.key()]++
		if seen[r.key()] > 1 {
			t.Errorf("rule %s appears twice: EC2 refuses a request that repeats a permission", r.key())
		}
	}
	for _, want := range []string{"tcp|22|22|10.0.0.0/8", "tcp|22|22|2001:db8::/32", "tcp|8080|8080|0.0.0.0/0", "udp|9000|9001|0.0.0.0/0"} {
		if seen[want] != 1 {
			t.Errorf("rule %s missing from %v", want, seen)
		}
	}
	ipv4, ipv6 := ruleCounts(rules)
	// 5 world rules + 10 group rules + SSH from 10/8 + 8080 + 9000-9001/udp; group rules and
	// the IPv6 SSH rule count for IPv6.
	if ipv4 != 18 || ipv6 != 11 {
		t.Errorf("rule counts = %d IPv4, %d IPv6; want 18 and 11", ipv4, ipv6)
	}
}

func TestRuleQuotaWarning(t *testing.T) {
	if w := RuleQuotaWarning([]string{"10.0.0.0/8"}, []string{"8080"}); w != "" {
		t.Errorf("a small template warns: %s", w)
	}
	var cidrs []string
	for i := range 40 {
		cidrs = append(cidrs, fmt.Sprintf("10.%d.0.0/16", i))
	}
	w := RuleQuotaWarning(cidrs, nil)
	if !strings.Contains(w, "55 inbound IPv4") || !strings.Contains(w, "60 per group") {
		t.Errorf("warning = %q; want the count and the quota", w)
	}
}

func TestUserDataCarriesTheBootSpec(t *testing.T) {
	p := testPool(1, "v1")
	p.Spec.Boot.Engine = bootstrap.Engine{Env: map[string]string{"HTTPS_PROXY": "http://proxy:3128"}}
	b, _, err := p.Spec.UserData(p.launch(4, false, "10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `HTTPS_PROXY="http://proxy:3128"`) {
		t.Errorf("user data lacks the engine settings:\n%s", b)
	}
}
