package bootstrap

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tool returns the path of an external validator. When EC2K8S_REQUIRE_VALIDATORS is set (as
// `make test` does) a missing tool fails the test; otherwise it is skipped.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("EC2K8S_REQUIRE_VALIDATORS") != "" {
			t.Fatalf("%s not found: run `make tools`", name)
		}
		t.Skipf("%s not installed; `make test` requires it", name)
	}
	return p
}

func sampleNodes() map[string]Node {
	base := Node{Cluster: "demo", Distribution: "rke2", KubernetesVersion: DefaultVersion("rke2"), NetworkPlugin: "canal",
		CloudProvider: "none", Labels: map[string]string{"example.com/tier": "core"}, Taints: []string{"dedicated=core:NoSchedule"}}
	out := map[string]Node{}
	for name, roles := range map[string][]string{"etcd": {"etcd"}, "cp": {"controlplane"}, "workers": {"worker"}, "all": {"etcd", "controlplane", "worker"}} {
		n := base
		n.Pool, n.HostnamePrefix, n.IndexBase, n.Roles = name, "demo-"+name+"-", 7, roles
		out[name] = n
	}
	return out
}

// TestUserData_cloudInitSchema validates every role's user data with Debian's cloud-init.
func TestUserData_cloudInitSchema(t *testing.T) {
	bin := tool(t, "cloud-init")
	for name, n := range sampleNodes() {
		t.Run(name, func(t *testing.T) {
			ud, err := UserData(n)
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(t.TempDir(), "user-data")
			if err := os.WriteFile(f, ud, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "schema", "--config-file", f).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Valid cloud-config") {
				t.Errorf("cloud-init schema: %v\n%s\n---\n%s", err, out, ud)
			}
		})
	}
	// The check bites: a misspelled key is refused.
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("#cloud-config\nwrite_files: {path: 1}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "schema", "--config-file", bad).CombinedOutput(); err == nil {
		t.Errorf("cloud-init schema accepted an invalid file:\n%s", out)
	}
}

// TestHostnameScript_shellcheck checks the script each node runs, and that the user data
// carries exactly that script.
func TestHostnameScript_shellcheck(t *testing.T) {
	bin := tool(t, "shellcheck")
	for name, n := range sampleNodes() {
		t.Run(name, func(t *testing.T) {
			script, err := HostnameScript(n)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "--shell=sh", "-")
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck: %v\n%s\n---\n%s", err, out, script)
			}
			ud, _ := UserData(n)
			if !strings.Contains(string(ud), indent(script, "      ")) {
				t.Errorf("user data does not carry the checked script")
			}
		})
	}
}
