package acctest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/knownvalue"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

// ErrorRe matches text in a CLI error however the CLI wraps its lines: words may be separated by
// any white space, and everything else is literal.
func ErrorRe(text string) *regexp.Regexp {
	words := strings.Fields(text)
	for i, w := range words {
		words[i] = regexp.QuoteMeta(w)
	}
	return regexp.MustCompile(strings.Join(words, `\s+`))
}

// SeedPolicy returns one of the seed's IAM policies, kept byte for byte in
// internal/iampolicy/testdata, with its placeholders replaced.
func SeedPolicy(t *testing.T, file string, placeholders map[string]string) string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "iampolicy", "testdata", file))
	if err != nil {
		t.Fatalf("seed policy: %v", err)
	}
	var pairs []string
	for k, v := range placeholders {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(string(b))
}

// PolicyEquivalentTo checks that a string attribute holds a policy granting what want grants:
// the same statements by Effect, Action set and Resource set (see iampolicy.Canonical).
func PolicyEquivalentTo(t *testing.T, want string) knownvalue.Check {
	t.Helper()
	c, err := iampolicy.Canonical(want)
	if err != nil {
		t.Fatalf("expected policy: %v", err)
	}
	return policyCheck{want: c}
}

type policyCheck struct{ want []string }

func (p policyCheck) CheckValue(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected a string policy document, got %T", v)
	}
	got, err := iampolicy.Canonical(s)
	if err != nil {
		return err
	}
	if strings.Join(got, "\n") != strings.Join(p.want, "\n") {
		return fmt.Errorf("policy statements differ\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(p.want, "\n  "))
	}
	return nil
}

func (p policyCheck) String() string { return strings.Join(p.want, "; ") }
