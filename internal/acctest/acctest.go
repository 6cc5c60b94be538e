package acctest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Fake credentials moto accepts; no real AWS ever sees them.
const (
	AccessKey = "AKIAEC2K8SACCTEST000"
	SecretKey = "ec2k8s-acctest-secret-not-real"
	// AccountID is the account moto reports for every default identity.
	AccountID = "123456789012"
)

// closedLoopback is where SDK defaults point during tests: nothing listens on the discard port, so
// a client that misses the provider's endpoints fails fast on loopback instead of reaching AWS.
const closedLoopback = "http://127.0.0.1:9"

var shared struct {
	once sync.Once
	moto *Moto
	err  error
}

// Main runs the package's tests and stops the shared moto server afterwards. Call it from
// TestMain: os.Exit(acctest.Main(m)).
//
// Tests send traffic to loopback only: Main points the HTTP proxy of the whole test binary, and
// of every process it starts (the CLI, its plugin, kube-apiserver), at a closed loopback port.
// Requests to loopback addresses are never proxied (Go's ProxyFromEnvironment, curl's defaults
// aside: the node sandbox gives cloud-init an environment of its own), so moto and the proxies
// are reached as before, and a request to anywhere else — an address moto made up, a registry,
// AWS — fails at once on 127.0.0.1 instead of leaving the machine. Set before the first request:
// Go reads the proxy environment once.
func Main(m *testing.M) int {
	NoEscape()
	code := m.Run()
	shared.moto.Stop()
	RemoveProviderBuild()
	return code
}

// NoEscape sets the process's proxy environment to the closed loopback port (see Main).
func NoEscape() {
	for _, k := range proxyVars {
		_ = os.Setenv(k, closedLoopback)
	}
	for _, k := range noProxyVars {
		_ = os.Unsetenv(k)
	}
}

// proxyVars are the variables that name an HTTP proxy; noProxyVars those that would let a request
// past it (or name a proxy of their own): the guard clears them.
var (
	proxyVars   = []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"}
	noProxyVars = []string{"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}
)

// Test AMIs moto serves (testdata/amis.json): Canonical's Ubuntu 24.04 images, plus decoys the
// provider must never pick (an older release that is newer, a look-alike from another owner).
const (
	UbuntuNobleAMD64Old = "ami-0a1b2c3d4e5f60001"
	UbuntuNobleAMD64    = "ami-0a1b2c3d4e5f60002"
	UbuntuNobleARM64    = "ami-0a1b2c3d4e5f60003"
)

// DefaultMotoOptions loads the test AMIs in place of moto's own list.
func DefaultMotoOptions() MotoOptions {
	_, self, _, _ := runtime.Caller(0)
	return MotoOptions{Env: []string{"MOTO_AMIS_PATH=" + filepath.Join(filepath.Dir(self), "testdata", "amis.json")}}
}

// SharedMoto returns the test binary's moto server, started on first use and reset for this
// test, and isolates the AWS environment (see IsolateAWSEnv). Tests that use it must not run in
// parallel: the reset empties the server for everyone.
func SharedMoto(t *testing.T) *Moto {
	t.Helper()
	SkipUnlessAcc(t)
	shared.once.Do(func() { shared.moto, shared.err = StartMoto(context.Background(), DefaultMotoOptions()) })
	if shared.err != nil {
		t.Fatalf("moto: %v", shared.err)
	}
	if err := shared.moto.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	IsolateAWSEnv(t)
	return shared.moto
}

// SkipUnlessAcc skips an acceptance test outside acceptance runs (TF_ACC unset), before it
// starts servers or makes fixtures, as resource.Test itself would.
func SkipUnlessAcc(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: run with TF_ACC=1, as `make testacc` does")
	}
}

// IsolateAWSEnv gives the test fake static credentials, no shared config files, no instance
// metadata and SDK default endpoints on a closed loopback port, so nothing can reach AWS or
// pick up the developer's own identity.
func IsolateAWSEnv(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           AccessKey,
		"AWS_SECRET_ACCESS_KEY":       SecretKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_DEFAULT_PROFILE":         "",
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            closedLoopback,
		"AWS_ENDPOINT_URL_EC2":        closedLoopback,
		"AWS_ENDPOINT_URL_STS":        closedLoopback,
		"AWS_ENDPOINT_URL_IAM":        closedLoopback,
	} {
		t.Setenv(k, v)
	}
}

// PreCheck fails the test unless a Terraform-compatible CLI was chosen explicitly: downloads
// are impossible here, and the suite must say which CLI it ran under.
func PreCheck(t *testing.T) {
	t.Helper()
	p := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if p == "" {
		t.Fatal("TF_ACC_TERRAFORM_PATH is not set: run acceptance tests with `make testacc` (Terraform and OpenTofu)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("TF_ACC_TERRAFORM_PATH: %v; run `make tools`", err)
	}
}

// CLI names the CLI under test, such as "Terraform v1.5.7" or "OpenTofu v1.12.6".
func CLI(t *testing.T) string {
	t.Helper()
	p := os.Getenv("TF_ACC_TERRAFORM_PATH")
	cmd := exec.Command(p, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1") // no version check over the network
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s version: %v", p, err)
	}
	// The CLI may print warnings (a missing CLI config file) before its version line.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Terraform v") || strings.HasPrefix(line, "OpenTofu v") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("%s version printed no version line:\n%s", p, out)
	return ""
}

// ProviderConfig is a provider block that sends every service to moto.
func ProviderConfig(m *Moto) string { return providerBlock(m.URL) }

// providerBlock is a provider block that sends every service to endpoint.
func providerBlock(endpoint string) string {
	return fmt.Sprintf(`
provider "ec2k8s" {
  max_retries = 3
  endpoints {
    ec2 = %[1]q
    sts = %[1]q
    iam = %[1]q
  }
}
`, endpoint)
}

// ReadFile returns a file's contents, failing the test when it cannot be read.
func ReadFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// LogEntry is one entry of a Terraform or provider log: its first line and its continuation
// lines ("  | ...").
type LogEntry struct {
	Logger string // such as "ec2k8s", "sdk.framework", "sdk.helper_resource"; empty for CLI core
	Text   string
}

var logLineRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT[^ ]+ \[[A-Z]+\] +(?:([a-z0-9_.-]+): )?`)

// ParseLog splits a log written through TF_ACC_LOG_PATH into entries.
func ParseLog(log string) []LogEntry {
	var out []LogEntry
	for _, line := range strings.Split(log, "\n") {
		if m := logLineRe.FindStringSubmatch(line); m != nil || len(out) == 0 {
			logger := ""
			if m != nil {
				logger = m[1]
			}
			out = append(out, LogEntry{Logger: logger, Text: line})
			continue
		}
		out[len(out)-1].Text += "\n" + line
	}
	return out
}
