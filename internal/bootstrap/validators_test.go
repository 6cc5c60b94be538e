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

// cloudConfigParts are the cloud-configs of a user data: itself, or each part of a multipart.
func cloudConfigParts(t *testing.T, ud string) []string {
	t.Helper()
	if !strings.HasPrefix(ud, "Content-Type: multipart/mixed") {
		return []string{ud}
	}
	var parts []string
	for _, p := range strings.Split(ud, "--"+mimeBoundary)[1:] {
		if strings.HasPrefix(p, "--") {
			break
		}
		_, body, ok := strings.Cut(p, "\n\n")
		if !ok {
			t.Fatalf("a MIME part without a body:\n%s", p)
		}
		parts = append(parts, body)
	}
	return parts
}

// TestRender_cloudInitSchema validates every golden case's user data with Debian's cloud-init.
func TestRender_cloudInitSchema(t *testing.T) {
	bin := tool(t, "cloud-init")
	p := fixturePKI()
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			ud, err := Render(f.node, f.launch(p))
			if err != nil {
				t.Fatal(err)
			}
			for i, part := range cloudConfigParts(t, ud) {
				file := filepath.Join(t.TempDir(), "user-data")
				if err := os.WriteFile(file, []byte(part), 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(bin, "schema", "--config-file", file).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "Valid schema") && !strings.Contains(string(out), "Valid cloud-config") {
					t.Errorf("cloud-init schema, part %d: %v\n%s\n---\n%s", i, err, out, part)
				}
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

// TestScript_shellcheck checks the bootstrap script of every golden case, and that the user
// data carries exactly that script.
func TestScript_shellcheck(t *testing.T) {
	bin := tool(t, "shellcheck")
	p := fixturePKI()
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			script, err := Script(f.node, f.launch(p))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "--shell=sh", "-")
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck: %v\n%s\n---\n%s", err, out, script)
			}
			ud, _ := Render(f.node, f.launch(p))
			if !strings.Contains(ud, indentBlock(script, "      ")) {
				t.Errorf("the user data does not carry the checked script")
			}
		})
	}
}

// indentBlock is s as YAML writes it in a literal block at prefix.
func indentBlock(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}
