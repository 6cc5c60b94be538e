package acctest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// RepoRoot returns the repository's root directory (where go.mod is).
func RepoRoot() string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(self), "..", ".."))
}

// CopyTree copies the directories and regular files under src into dst, made if missing,
// leaving out what a CLI run leaves behind (.terraform directories, state and lock files), so
// tests work on a copy and never write into the repository.
func CopyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		name := d.Name()
		switch {
		case d.IsDir() && name == ".terraform":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		case !d.Type().IsRegular(), name == ".terraform.lock.hcl", strings.HasSuffix(name, ".tfstate"), strings.Contains(name, ".tfstate."):
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatalf("copying %s to %s: %v", src, dst, err)
	}
}

// Setenv sets k=v in the environment of the CLI's commands (and so of the provider plugin),
// replacing the value NewCLI gave it, if any.
func (c *CLIDir) Setenv(k, v string) {
	env := c.Env[:0:0]
	for _, kv := range c.Env {
		if name, _, _ := strings.Cut(kv, "="); name != k {
			env = append(env, kv)
		}
	}
	c.Env = append(env, k+"="+v)
}

// NoProxyEscape points HTTP_PROXY and HTTPS_PROXY of the CLI's commands at a closed loopback
// port (as Main does for the whole test binary, in case the caller's environment changed since):
// a request the CLI makes to anything but loopback (a registry asked for a provider or a module,
// say) fails there at once instead of leaving the machine. Requests to loopback addresses are
// never proxied, so moto and its proxies are reached as before.
func (c *CLIDir) NoProxyEscape() {
	for _, k := range proxyVars {
		c.Setenv(k, closedLoopback)
	}
	for _, k := range noProxyVars {
		c.Setenv(k, "")
	}
}

// LiveStates are the states of an instance that is not terminated.
var LiveStates = []string{"pending", "running", "shutting-down", "stopping", "stopped"}

// TagFilter matches instances whose tag key has one of values.
func TagFilter(key string, values ...string) types.Filter {
	return types.Filter{Name: aws.String("tag:" + key), Values: values}
}

// StateFilter matches instances in one of states.
func StateFilter(states ...string) types.Filter {
	return types.Filter{Name: aws.String("instance-state-name"), Values: states}
}

// FindInstances asks moto (directly, past every proxy) for the instances in region matching
// filters, every page. It returns its error, for checks and goroutines that cannot fail the test.
func FindInstances(m *Moto, region string, filters ...types.Filter) ([]types.Instance, error) {
	p := ec2.NewDescribeInstancesPaginator(DirectEC2(m, region), &ec2.DescribeInstancesInput{Filters: filters})
	var all []types.Instance
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			return nil, fmt.Errorf("DescribeInstances on moto: %w", err)
		}
		for _, r := range out.Reservations {
			all = append(all, r.Instances...)
		}
	}
	return all, nil
}

// Instances is FindInstances for the test's own goroutine: an error fails the test.
func Instances(t *testing.T, m *Moto, region string, filters ...types.Filter) []types.Instance {
	t.Helper()
	all, err := FindInstances(m, region, filters...)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// LiveInstances asks moto for the instances in region that are not terminated (LiveStates),
// matching the extra filters if any.
func LiveInstances(t *testing.T, m *Moto, region string, filters ...types.Filter) []types.Instance {
	t.Helper()
	return Instances(t, m, region, append(filters, StateFilter(LiveStates...))...)
}
