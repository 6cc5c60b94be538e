package iampolicy

import (
	"strings"
	"testing"
)

func TestRegistry_invariants(t *testing.T) {
	known := map[string]bool{}
	for _, sid := range statementOrder {
		known[sid] = true
	}
	scoped := map[string]bool{}
	seen := map[string]bool{}
	for i, a := range registry {
		key := string(a.Feature) + " " + a.Name
		if seen[key] {
			t.Errorf("registry[%d]: %s is declared twice for feature %s", i, a.Name, a.Feature)
		}
		seen[key] = true
		if !known[a.Statement] {
			t.Errorf("registry[%d] %s: statement %q is not in statementOrder", i, a.Name, a.Statement)
		}
		if a.Use == "" {
			t.Errorf("registry[%d] %s: no Use; the security review needs to know why", i, a.Name)
		}
		if svc, _, ok := strings.Cut(a.Name, ":"); !ok || (svc != "ec2" && svc != "iam" && svc != "kms") {
			t.Errorf("registry[%d]: %q is not an ec2:, iam: or kms: action", i, a.Name)
		}
		if a.Grant != "" && !strings.HasPrefix(a.Name, strings.TrimSuffix(a.Grant, "*")) {
			t.Errorf("registry[%d] %s: grant %q does not cover it", i, a.Name, a.Grant)
		}
		// A statement is either unscoped ("*") or scoped: never both, or IAM would see "*".
		if prev, ok := scoped[a.Statement]; ok && prev != (a.Resources != nil) {
			t.Errorf("registry[%d] %s: statement %s mixes scoped and unscoped actions", i, a.Name, a.Statement)
		}
		scoped[a.Statement] = a.Resources != nil
	}
}

func TestLookup(t *testing.T) {
	a, err := Lookup(Base, "ec2:DescribeInstances")
	if err != nil {
		t.Fatal(err)
	}
	if a.granted() != "ec2:Describe*" {
		t.Errorf("DescribeInstances is granted as %q; want ec2:Describe*", a.granted())
	}
	if _, err := Lookup(Base, "ec2:DeleteSecurityGroup"); err == nil || !strings.Contains(err.Error(), "not in the registry") {
		t.Errorf("Lookup(DeleteSecurityGroup) error = %v; want not in the registry (the seed policy has no DeleteSecurityGroup)", err)
	}
	if got := Actions(); len(got) != len(registry) || got[0].Feature != Base || got[len(got)-1].Feature != EBSEncryption {
		t.Errorf("Actions() is not the registry ordered by feature: first %+v, last %+v", got[0], got[len(got)-1])
	}
}
