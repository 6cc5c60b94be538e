package acctest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	tfjson "github.com/hashicorp/terraform-json"
)

// The harness in this file drives the CLI under test ($TF_ACC_TERRAFORM_PATH: Terraform or
// OpenTofu) as a user does, with the provider built as a plugin binary and found through
// dev_overrides, so a test can do what plugin-testing cannot: SIGKILL the CLI and its plugin
// mid-operation, or run `state rm` and `import` by hand.

// ProviderSource is the provider's source address in the harness's configurations; the CLI
// resolves it on its default registry host, and dev_overrides for both hosts point at the build.
const ProviderSource = "ec2k8s/ec2k8s"

var providerBuild struct {
	once sync.Once
	dir  string
	err  error
}

// BuildProvider builds the provider plugin (go build of the module root) once per test binary,
// with the race detector when EC2K8S_RACE=1, and returns the directory holding
// terraform-provider-ec2k8s.
func BuildProvider(t *testing.T) string {
	t.Helper()
	providerBuild.once.Do(func() {
		_, self, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(self), "..", "..")
		dir, err := os.MkdirTemp("", "ec2k8s-provider-build-*")
		if err != nil {
			providerBuild.err = err
			return
		}
		args := []string{"build", "-buildvcs=false", "-o", filepath.Join(dir, "terraform-provider-ec2k8s")}
		if os.Getenv("EC2K8S_RACE") == "1" {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Dir = root
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			providerBuild.err = fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), root, err, out)
			return
		}
		providerBuild.dir = dir
		t.Logf("built the provider plugin in %s (%s)", time.Since(start).Round(time.Millisecond), strings.Join(args, " "))
	})
	if providerBuild.err != nil {
		t.Fatalf("building the provider: %v", providerBuild.err)
	}
	return providerBuild.dir
}

// RemoveProviderBuild deletes the plugin BuildProvider made, if any; call it after m.Run.
func RemoveProviderBuild() {
	if providerBuild.dir != "" {
		_ = os.RemoveAll(providerBuild.dir)
	}
}

// CLIDir is a working directory driven through the CLI under test, with an isolated environment.
type CLIDir struct {
	// Bin is the CLI: $TF_ACC_TERRAFORM_PATH.
	Bin string
	// Dir is the working directory: main.tf, the state, plan files and the captured output of
	// started commands.
	Dir string
	// Env is the whole environment of every command (see NewCLI).
	Env      []string
	endpoint string
	t        *testing.T
	runs     int
}

// NewCLI makes a working directory for the CLI under test whose provider sends EC2, STS and
// IAM to endpoint (moto, or a proxy in front of it; m is the moto behind it). The commands get
// the environment of IsolateAWSEnv (fake keys, no shared files, no instance metadata, default
// endpoints on a closed port), CHECKPOINT_DISABLE=1, TF_IN_AUTOMATION=1, and a CLI config
// whose dev_overrides send ec2k8s/ec2k8s, on the Terraform and the OpenTofu registry, to the
// plugin BuildProvider made. Other TF_* and AWS_* variables of the test process are dropped
// (TF_LOG* are kept, for debugging).
func NewCLI(t *testing.T, m *Moto, endpoint string) *CLIDir {
	t.Helper()
	_ = m // the endpoint leads to it; kept for symmetry with the other fixtures
	bin := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if bin == "" {
		t.Fatal("TF_ACC_TERRAFORM_PATH is not set: the CLI harness needs the CLI under test")
	}
	plugins := BuildProvider(t)
	dir := t.TempDir()
	rc := filepath.Join(dir, "cli.tfrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/%[1]s"  = %[2]q
    "registry.opentofu.org/%[1]s" = %[2]q
  }
  direct {}
}
`, ProviderSource, plugins)), 0o600); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(dir, "none")
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || (strings.HasPrefix(k, "TF_") && !strings.HasPrefix(k, "TF_LOG")) || k == "CHECKPOINT_DISABLE" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+AccessKey,
		"AWS_SECRET_ACCESS_KEY="+SecretKey,
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+none,
		"AWS_SHARED_CREDENTIALS_FILE="+none,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL="+closedLoopback,
		"AWS_ENDPOINT_URL_EC2="+closedLoopback,
		"AWS_ENDPOINT_URL_STS="+closedLoopback,
		"AWS_ENDPOINT_URL_IAM="+closedLoopback,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"TF_CLI_CONFIG_FILE="+rc,
	)
	if os.Getenv("EC2K8S_RACE") == "1" {
		// The plugin's stderr only reaches the CLI's log: race reports go to files, checked at
		// the end of the test.
		races := filepath.Join(dir, "race")
		env = append(env, "GORACE=atexit_sleep_ms=0 log_path="+races)
		t.Cleanup(func() {
			reports, _ := filepath.Glob(races + ".*")
			for _, r := range reports {
				b, _ := os.ReadFile(r)
				t.Errorf("the race detector reported, in the provider plugin (%s):\n%s", r, b)
			}
		})
	}
	return &CLIDir{Bin: bin, Dir: dir, Env: env, endpoint: endpoint, t: t}
}

// Version is the first line of `version`, such as "Terraform v1.5.7" or "OpenTofu v1.12.6",
// run in the harness's environment (checkpoint disabled, the harness's CLI config: OpenTofu
// warns on stdout, before the version, when it finds no CLI config file).
func (c *CLIDir) Version() string {
	c.t.Helper()
	out, err := c.command([]string{"version"}).Output()
	if err != nil {
		c.t.Fatalf("%s version: %v", c.Bin, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return first
}

// Write replaces main.tf with the required_providers block, a provider block sending EC2, STS
// and IAM to the CLI's endpoint, and hcl.
func (c *CLIDir) Write(hcl string) {
	c.t.Helper()
	body := fmt.Sprintf(`terraform {
  required_providers {
    ec2k8s = { source = %q }
  }
}
`, ProviderSource) + providerBlock(c.endpoint) + hcl
	if err := os.WriteFile(filepath.Join(c.Dir, "main.tf"), []byte(body), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *CLIDir) command(args []string) *exec.Cmd {
	c.t.Helper()
	if len(args) > 0 && args[0] == "init" {
		// Under dev_overrides both CLIs work without init, and warn against it: init still asks
		// the registry for the overridden provider, which means leaving 127.0.0.1.
		c.t.Fatal("the CLI harness never runs init: dev_overrides make it needless, and it would query the registry")
	}
	cmd := exec.Command(c.Bin, args...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	return cmd
}

// Run runs the CLI with args (add -no-color, -input=false, -auto-approve as wanted) and returns
// its output and exit code; the test fails only if the CLI cannot be started.
func (c *CLIDir) Run(args ...string) (stdout, stderr string, exitCode int) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	cmd := c.command(args)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		exitCode = exit.ExitCode()
	default:
		c.t.Fatalf("%s %s: %v", filepath.Base(c.Bin), strings.Join(args, " "), err)
	}
	c.t.Logf("$ %s %s  # exit %d in %s", filepath.Base(c.Bin), strings.Join(args, " "), exitCode, time.Since(start).Round(time.Millisecond))
	return out.String(), errOut.String(), exitCode
}

// MustRun runs the CLI with args and fails the test unless it exits 0; it returns stdout.
func (c *CLIDir) MustRun(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.Run(args...)
	if code != 0 {
		c.t.Fatalf("%s %s exited %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(c.Bin), strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// Apply runs `apply -auto-approve -input=false -no-color` with extra args and fails the test
// unless it succeeds.
func (c *CLIDir) Apply(args ...string) string {
	c.t.Helper()
	return c.MustRun(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, args...)...)
}

// PlanJSON runs `plan -out` with extra args, then `show -json` of that plan, and returns the
// plan decoded; it fails the test unless both succeed. The plan file is PlanFile.
func (c *CLIDir) PlanJSON(args ...string) *tfjson.Plan {
	c.t.Helper()
	c.MustRun(append([]string{"plan", "-input=false", "-no-color", "-out=" + c.PlanFile()}, args...)...)
	var plan tfjson.Plan
	c.showJSON(&plan, c.PlanFile())
	return &plan
}

// PlanFile is where PlanJSON saves the plan; `apply <PlanFile>` applies exactly that plan.
func (c *CLIDir) PlanFile() string { return filepath.Join(c.Dir, "tfplan") }

// State returns the state as `show -json` reads it.
func (c *CLIDir) State() *tfjson.State {
	c.t.Helper()
	var st tfjson.State
	c.showJSON(&st)
	return &st
}

func (c *CLIDir) showJSON(v any, args ...string) {
	c.t.Helper()
	out := c.MustRun(append([]string{"show", "-json", "-no-color"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.t.Fatalf("show -json: %v\n%s", err, out)
	}
}

// StateResource returns the resource at addr (such as "ec2k8s_node_pool.workers") in the state,
// or nil when the state does not hold it.
func (c *CLIDir) StateResource(addr string) *tfjson.StateResource {
	c.t.Helper()
	return FindStateResource(c.State(), addr)
}

// FindStateResource returns the resource at addr in st, in any module, or nil.
func FindStateResource(st *tfjson.State, addr string) *tfjson.StateResource {
	if st == nil || st.Values == nil {
		return nil
	}
	var find func(m *tfjson.StateModule) *tfjson.StateResource
	find = func(m *tfjson.StateModule) *tfjson.StateResource {
		if m == nil {
			return nil
		}
		for _, r := range m.Resources {
			if r.Address == addr {
				return r
			}
		}
		for _, child := range m.ChildModules {
			if r := find(child); r != nil {
				return r
			}
		}
		return nil
	}
	return find(st.Values.RootModule)
}

// FindResourceChange returns the planned change of the resource at addr, or nil.
func FindResourceChange(p *tfjson.Plan, addr string) *tfjson.ResourceChange {
	if p == nil {
		return nil
	}
	for _, rc := range p.ResourceChanges {
		if rc.Address == addr {
			return rc
		}
	}
	return nil
}
