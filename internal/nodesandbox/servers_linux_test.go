//go:build linux

package nodesandbox

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestIMDS checks the stub against IMDSv2 with http_tokens=required, without the sandbox.
func TestIMDS(t *testing.T) {
	m := Metadata{InstanceID: "i-1", AMILaunchIndex: 3, AvailabilityZone: "eu-west-1b", Extra: map[string]string{"instance-type": "t3.small"}}.withDefaults()
	stub := newIMDS(m, []byte("#cloud-config\n"))
	srv := httptest.NewServer(stub)
	defer srv.Close()
	do := func(method, path string, header ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const ttl = "X-aws-ec2-metadata-token-ttl-seconds"
	for _, bad := range []struct {
		header []string
		status int
	}{
		{nil, http.StatusBadRequest},
		{[]string{ttl, "0"}, http.StatusBadRequest},
		{[]string{ttl, "21601"}, http.StatusBadRequest},
		{[]string{ttl, "60", "X-Forwarded-For", "10.0.0.1"}, http.StatusForbidden},
	} {
		if status, _ := do(http.MethodPut, "/latest/api/token", bad.header...); status != bad.status {
			t.Errorf("PUT token with %q = %d, want %d", bad.header, status, bad.status)
		}
	}
	if status, _ := do(http.MethodGet, "/latest/api/token"); status != http.StatusMethodNotAllowed {
		t.Errorf("GET token = %d", status)
	}
	if status, _ := do(http.MethodGet, "/latest/meta-data/instance-id"); status != http.StatusUnauthorized {
		t.Errorf("GET without a token = %d, want 401", status)
	}
	if status, _ := do(http.MethodGet, "/latest/meta-data/instance-id", "X-aws-ec2-metadata-token", "forged"); status != http.StatusUnauthorized {
		t.Errorf("GET with an unknown token = %d, want 401", status)
	}
	status, token := do(http.MethodPut, "/latest/api/token", ttl, "60")
	if status != http.StatusOK || token == "" {
		t.Fatalf("PUT token = %d %q", status, token)
	}
	for path, want := range map[string]string{
		"/latest/meta-data/instance-id":                 "i-1",
		"/latest/meta-data/ami-launch-index":            "3",
		"/latest/meta-data/local-ipv4":                  "10.0.0.10",
		"/latest/meta-data/hostname":                    "ip-10-0-0-10.eu-west-1.compute.internal",
		"/latest/meta-data/local-hostname":              "ip-10-0-0-10.eu-west-1.compute.internal",
		"/latest/meta-data/placement/availability-zone": "eu-west-1b",
		"/latest/meta-data/placement/region":            "eu-west-1",
		"/latest/meta-data/instance-type":               "t3.small",
		"/latest/meta-data/placement/":                  "availability-zone\nregion",
		"/latest/meta-data/":                            "ami-launch-index\nhostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nplacement/",
		"/latest/user-data":                             "#cloud-config\n",
	} {
		if status, got := do(http.MethodGet, path, "X-aws-ec2-metadata-token", token); status != http.StatusOK || got != want {
			t.Errorf("GET %s = %d %q, want %q", path, status, got, want)
		}
	}
	if status, got := do(http.MethodGet, "/latest/dynamic/instance-identity/document", "X-aws-ec2-metadata-token", token); status != http.StatusOK ||
		!strings.Contains(got, `"region": "eu-west-1"`) || !strings.Contains(got, `"instanceId": "i-1"`) {
		t.Errorf("identity document = %d %s", status, got)
	}
	// No public IPv4: 404, as on EC2.
	if status, _ := do(http.MethodGet, "/latest/meta-data/public-ipv4", "X-aws-ec2-metadata-token", token); status != http.StatusNotFound {
		t.Errorf("public-ipv4 without one = %d, want 404", status)
	}
	// An expired token is refused.
	stub.mu.Lock()
	stub.tokens[token] = time.Now().Add(-time.Second)
	stub.mu.Unlock()
	if status, _ := do(http.MethodGet, "/latest/meta-data/instance-id", "X-aws-ec2-metadata-token", token); status != http.StatusUnauthorized {
		t.Errorf("GET with an expired token = %d, want 401", status)
	}
	reqs := stub.rec.list()
	if n := 4 + 1 + 2 + 1 + 11 + 1 + 1 + 1; len(reqs) != n { // bad PUTs, GET token, no token, PUT, paths, identity, public-ipv4, expired
		t.Errorf("recorded %d requests, want %d", len(reqs), n)
	}
	if r := reqs[len(reqs)-1]; r.Method != http.MethodGet || r.Path != "/latest/meta-data/instance-id" || r.Status != http.StatusUnauthorized || r.Header.Get("X-Aws-Ec2-Metadata-Token") != token {
		t.Errorf("last request = %+v", r)
	}
}

func TestFileServer(t *testing.T) {
	files := newFileServer(map[string][]byte{"engine.sh": StubInstaller("engine"), "/data": []byte("x")})
	srv := httptest.NewServer(files)
	defer srv.Close()
	for path, want := range map[string]string{"/install.sh": string(StubInstaller("install.sh")), "/engine.sh": string(StubInstaller("engine")), "/data": "x", "/nope": ""} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if want == "" && resp.StatusCode != http.StatusNotFound || want != "" && (resp.StatusCode != http.StatusOK || string(b) != want) {
			t.Errorf("GET %s = %d %.40q", path, resp.StatusCode, b)
		}
	}
	if got := len(files.rec.list()); got != 4 {
		t.Errorf("recorded %d requests", got)
	}
	if !strings.Contains(string(StubInstaller("a b;$(x)")), "stub installer a_b___x_ ran") {
		t.Errorf("an unsafe name is not sanitised:\n%s", StubInstaller("a b;$(x)"))
	}
}

// TestScripts_shellcheck checks the stand-ins and the stub installer.
func TestScripts_shellcheck(t *testing.T) {
	bin, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("EC2K8S_REQUIRE_VALIDATORS") != "" {
			t.Fatal("shellcheck not found: run `make tools`")
		}
		t.Skip("shellcheck not installed; `make test` requires it")
	}
	for name, script := range map[string]string{"systemctl": systemctlScript, "hostnamectl": hostnamectlScript, "hostname": hostnameScript, "installer": string(StubInstaller("install.sh"))} {
		cmd := exec.Command(bin, "--shell=sh", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
}

// fakeTB records a skip or a failure of sandboxRoot.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestSandboxRoot_unavailable: without a root, a boot is skipped saying what to run, or fails
// when EC2K8S_REQUIRE_SANDBOX is set.
func TestSandboxRoot_unavailable(t *testing.T) {
	t.Setenv(rootEnv, t.TempDir())
	for _, require := range []string{"", "1"} {
		t.Setenv(requireEnv, require)
		f := &fakeTB{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			sandboxRoot(f)
		}()
		<-done
		if f.skipped != (require == "") || f.failed != (require != "") {
			t.Errorf("%s=%q: skipped %v, failed %v", requireEnv, require, f.skipped, f.failed)
		}
		if !strings.Contains(f.msg, "make tools") && !strings.Contains(f.msg, "run the tests as root") {
			t.Errorf("the message does not say what to do: %s", f.msg)
		}
	}
}
