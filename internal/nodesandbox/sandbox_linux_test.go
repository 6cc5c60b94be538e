//go:build linux

package nodesandbox

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// bootConfig exercises what Result offers: write_files with modes and an owner, a runcmd that
// names the node from IMDS (token, then ami-launch-index) like the bootstrap's script, runs the
// stub installer both ways (downloaded, and piped to sh), enables a service, asks IMDS once
// without a token, and writes RKE2 config files for MergedConfig.
const bootConfig = `#cloud-config
write_files:
  - path: /etc/ec2k8s/secret
    permissions: "0600"
    content: "s3cret\n"
  - path: /usr/local/bin/hello
    permissions: "0755"
    owner: root:root
    content: |
      #!/bin/sh
      echo hello
  - path: /etc/rancher/rke2/config.yaml
    permissions: "0600"
    content: |
      token: boop
      node-label: [foo=bar, bar=baz]
      node-taint: [a=b:NoSchedule]
  - path: /etc/rancher/rke2/config.yaml.d/10-one.yaml
    content: |
      write-kubeconfig-mode: "0600"
      node-taint+: [c=d:NoExecute]
  - path: /etc/rancher/rke2/config.yaml.d/20-two.yaml
    content: |
      write-kubeconfig-mode: "0644"
      node-label: [other=what]
  - path: /etc/rancher/rke2/config.yaml.d/30-ignored.txt
    content: |
      token: not-read
runcmd:
  - |
    set -eu
    imds=http://169.254.169.254/latest
    token=$(curl -sf -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$imds/api/token")
    index=$(curl -sf -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/ami-launch-index")
    hostnamectl set-hostname "node-$((7 + index))"
    curl -sfL ` + InstallerURL + ` -o /tmp/install.sh
    INSTALL_FOO=bar sh /tmp/install.sh --flag "two words"
    curl -sfL ` + InstallerURL + ` | INSTALL_PIPED=1 sh -s - server
    systemctl enable --now foo
    systemctl is-active --quiet foo
    echo "payload done on $(hostname)"
  - [sh, -c, 'curl -s -o /dev/null -w "%{http_code}" http://169.254.169.254/latest/meta-data/instance-id > /root/untokened']
  - rm /etc/hosts
`

func TestBoot_cloudConfig(t *testing.T) {
	t.Parallel()
	r := Boot(t, Node{
		UserData: []byte(bootConfig),
		Metadata: Metadata{InstanceID: "i-0abc", AMILaunchIndex: 2, LocalIPv4: "10.1.2.3", AvailabilityZone: "eu-west-1b"},
	})
	r.RequireDone(t)

	// Status and stages.
	if r.Status.Status != "done" || r.Status.ExtendedStatus != "done" || r.Status.ExitCode != 0 {
		t.Errorf("status = %+v", r.Status)
	}
	if !strings.Contains(r.Status.Detail, "DataSourceNoCloud") || !strings.Contains(r.Status.Long, "status: done") ||
		!bytes.Contains(r.Status.JSON, []byte(`"extended_status"`)) {
		t.Errorf("status detail %q, long:\n%s\njson: %s", r.Status.Detail, r.Status.Long, r.Status.JSON)
	}
	if len(r.Stages) != 4 {
		t.Fatalf("stages = %+v", r.Stages)
	}
	for _, s := range r.Stages {
		if s.ExitCode != 0 || s.TimedOut {
			t.Errorf("stage %v: exit %d, timed out %v\n%s", s.Args, s.ExitCode, s.TimedOut, s.Output)
		}
	}

	// Logs: cloud-init's, and the payload's output.
	for _, want := range []string{"modules-final", "Running module runcmd", "running 'init-local'"} {
		if !strings.Contains(r.Log, want) {
			t.Errorf("cloud-init.log lacks %q", want)
		}
	}
	if !strings.Contains(r.OutputLog, "payload done on node-9") || !strings.Contains(r.OutputLog, "stub installer install.sh ran") {
		t.Errorf("cloud-init-output.log:\n%s", r.OutputLog)
	}

	// Files, with modes and owners; a deleted one; the sandbox's own left out.
	for p, want := range map[string]struct {
		mode    fs.FileMode
		content string
	}{
		"/etc/ec2k8s/secret":   {0o600, "s3cret\n"},
		"/usr/local/bin/hello": {0o755, "#!/bin/sh\necho hello\n"},
		"/etc/hostname":        {0o644, "node-9\n"},
		"/root/untokened":      {0o644, "401"},
	} {
		f, ok := r.File(p)
		if !ok {
			t.Errorf("%s: not among the files (%v)", p, paths(r))
			continue
		}
		if f.Mode != want.mode || f.UID != 0 || f.Owner != "root" || f.Group != "root" || string(f.Content) != want.content {
			t.Errorf("%s = mode %v, %d:%d %s:%s, %q; want %v root:root %q", p, f.Mode, f.UID, f.GID, f.Owner, f.Group, f.Content, want.mode, want.content)
		}
	}
	if f, ok := r.File("/etc/ec2k8s"); !ok || !f.Mode.IsDir() {
		t.Errorf("the new directory /etc/ec2k8s: %+v", f)
	}
	if f, ok := r.File("/etc/hosts"); !ok || !f.Deleted {
		t.Errorf("/etc/hosts should be deleted: %+v", f)
	}
	if _, err := r.ReadFile("/etc/hosts"); !os.IsNotExist(err) {
		t.Errorf("ReadFile of a deleted file: %v", err)
	}
	for _, p := range []string{"/usr/bin/systemctl", "/var/lib/cloud/seed/nocloud/user-data", recordDir + "/calls/1/tool", "/etc"} {
		if _, ok := r.File(p); ok {
			t.Errorf("%s should not be among the boot's files", p)
		}
	}
	if _, ok := r.File("/var/lib/cloud/instances/i-0abc/user-data.txt"); !ok {
		t.Errorf("cloud-init's copy of the user data is not among the files: %v", paths(r))
	}
	// ReadFile sees the cached root under the boot's files, through symlinks (/bin -> usr/bin).
	if b, err := r.ReadFile("/bin/systemctl"); err != nil || !bytes.Contains(b, []byte("stand-in for systemctl")) {
		t.Errorf("ReadFile(/bin/systemctl) = %.40q, %v", b, err)
	}
	if b, err := r.ReadFile("/etc/os-release"); err != nil || !bytes.Contains(b, []byte("trixie")) {
		t.Errorf("ReadFile(/etc/os-release) = %q, %v", b, err)
	}

	// Stand-in calls, in order: cloud-init names the node from its metadata, the payload renames it.
	var got [][]string
	for _, c := range r.Calls {
		got = append(got, append([]string{c.Tool}, c.Args...))
	}
	want := [][]string{
		{"hostname", "ip-10-1-2-3"}, // cloud-init, from local-hostname
		{"hostnamectl", "set-hostname", "node-9"},
		{"systemctl", "enable", "--now", "foo"},
		{"systemctl", "is-active", "--quiet", "foo"},
		{"hostname"}, // the echo's $(hostname)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	if !strings.Contains(r.Calls[0].Caller, "cloud-init init") || !strings.Contains(r.Calls[1].Caller, "runcmd") {
		t.Errorf("callers = %q, %q", r.Calls[0].Caller, r.Calls[1].Caller)
	}
	if e := r.CallsTo("systemctl"); len(e) != 2 {
		t.Errorf("systemctl calls = %q", e)
	}
	if r.Hostname != "node-9" || r.TransientHostname != "node-9" {
		t.Errorf("hostname %q, transient %q; want node-9", r.Hostname, r.TransientHostname)
	}

	// Installer runs: arguments, environment, how it was invoked.
	if len(r.Installs) != 2 {
		t.Fatalf("installs = %+v", r.Installs)
	}
	in := r.Installs[0]
	if in.Name != "install.sh" || in.Arg0 != "/tmp/install.sh" || !reflect.DeepEqual(in.Args, []string{"--flag", "two words"}) ||
		in.Env["INSTALL_FOO"] != "bar" || in.Dir != "/" || in.Stdin == "pipe" {
		t.Errorf("first install = %+v", in)
	}
	if in := r.Installs[1]; in.Arg0 != "sh" || !reflect.DeepEqual(in.Args, []string{"server"}) || in.Env["INSTALL_PIPED"] != "1" || in.Stdin != "pipe" {
		t.Errorf("piped install = %+v", in)
	}

	// IMDS: a token, then the launch index with it; without a token, 401.
	var imds []string
	for _, q := range r.IMDSRequests {
		imds = append(imds, q.Method+" "+q.Path+" "+http.StatusText(q.Status))
	}
	wantIMDS := []string{"PUT /latest/api/token OK", "GET /latest/meta-data/ami-launch-index OK", "GET /latest/meta-data/instance-id Unauthorized"}
	if !slices.Equal(imds, wantIMDS) {
		t.Errorf("IMDS requests = %q, want %q", imds, wantIMDS)
	}
	if ttl := r.IMDSRequests[0].Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"); ttl != "60" {
		t.Errorf("token TTL header = %q", ttl)
	}
	if len(r.FileRequests) != 2 || r.FileRequests[0].Path != "/install.sh" || r.FileRequests[0].Status != http.StatusOK {
		t.Errorf("file requests = %+v", r.FileRequests)
	}

	// Config: RKE2's merge of config.yaml and config.yaml.d.
	cfg, err := MergedConfig(r, "/etc/rancher/rke2")
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := map[string]any{
		"token": "boop", "write-kubeconfig-mode": "0644", "node-label": []any{"other=what"},
		"node-taint": []any{"a=b:NoSchedule", "c=d:NoExecute"},
	}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("merged config = %#v, want %#v", cfg, wantCfg)
	}
	if m, err := r.YAML("/etc/rancher/rke2/config.yaml"); err != nil || m["token"] != "boop" {
		t.Errorf("YAML = %v, %v", m, err)
	}
	if _, err := MergedConfig(r, "/etc/rancher/k3s"); !os.IsNotExist(err) {
		t.Errorf("MergedConfig of a missing directory: %v", err)
	}

	// The cached root is untouched.
	if b, err := os.ReadFile(filepath.Join(r.root, "etc/hostname")); err != nil || string(b) != "localhost\n" {
		t.Errorf("the cached root's /etc/hostname = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(r.root, "etc/ec2k8s")); !os.IsNotExist(err) {
		t.Errorf("the boot wrote into the cached root: %v", err)
	}
}

// TestBoot_brokenPayload: a failing runcmd is an error status, and the boot still runs every stage.
func TestBoot_brokenPayload(t *testing.T) {
	t.Parallel()
	r := Boot(t, Node{UserData: []byte("#cloud-config\nruncmd:\n  - echo about to fail\n  - exit 3\n")})
	if r.Status.OK() || r.Status.Status != "error" || r.Status.ExitCode != 1 || len(r.Status.Errors) == 0 {
		t.Fatalf("status = %+v\n%s", r.Status, r.Summary())
	}
	if !strings.Contains(strings.Join(r.Status.Errors, "\n"), "scripts-user") {
		t.Errorf("errors = %q", r.Status.Errors)
	}
	if len(r.Stages) != 4 || r.Stages[3].ExitCode == 0 {
		t.Errorf("the final stage should fail: %+v", r.Stages)
	}
	if !strings.Contains(r.OutputLog, "about to fail") {
		t.Errorf("output log:\n%s", r.OutputLog)
	}
}

// TestBoot_gzip: gzip-compressed user data (as EC2 takes it, and cloud-init accepts it).
func TestBoot_gzip(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte("#cloud-config\nwrite_files:\n  - path: /etc/zipped\n    content: unzipped\n")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	r := Boot(t, Node{UserData: buf.Bytes(), Metadata: Metadata{PublicIPv4: "203.0.113.7"}})
	r.RequireDone(t)
	if f, ok := r.File("/etc/zipped"); !ok || string(f.Content) != "unzipped" || f.Mode != 0o644 {
		t.Errorf("/etc/zipped = %+v", f)
	}
	if r.Hostname != "ip-10-0-0-10" {
		t.Errorf("hostname = %q, want the one from the metadata", r.Hostname)
	}
}

// TestBoot_timeout: a payload that never ends is killed at the node's timeout, with everything
// it started; cloud-init is left running, and the boot still reports.
func TestBoot_timeout(t *testing.T) {
	t.Parallel()
	r := Boot(t, Node{UserData: []byte("#cloud-config\nruncmd:\n  - [sh, -c, 'sleep 600 & sleep 600']\n"), Timeout: 5 * time.Second})
	if r.Status.Status != "running" || !r.Stages[3].TimedOut || r.Duration > 30*time.Second {
		t.Errorf("status %q, final stage %+v, boot %s", r.Status.Status, r.Stages[3], r.Duration)
	}
}

func paths(r *Result) []string {
	var out []string
	for p := range r.Files {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}
