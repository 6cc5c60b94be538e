//go:build linux

package nodesandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Addresses inside the sandbox, for the user data a test renders.
const (
	// IMDSAddress is where the IMDSv2 stub listens, on port 80, as EC2's does.
	IMDSAddress = "169.254.169.254"
	// FileServerURL serves the stub installer and Node.Files.
	FileServerURL = "http://127.0.0.1:8080"
	// InstallerURL is the stub installer (StubInstaller("install.sh")): user data whose install
	// script URL is this runs the stub, which records the run (Result.Installs) and exits 0.
	InstallerURL = FileServerURL + "/install.sh"
)

// Environment variables.
const (
	// requireEnv set: Boot fails instead of skipping when the sandbox cannot run (make unit,
	// make sandbox).
	requireEnv = "EC2K8S_REQUIRE_SANDBOX"
	// rootEnv is the cached root (tools/tools.sh env).
	rootEnv = "EC2K8S_SANDBOX_ROOT"
	// childEnv, set to the boot's work directory, makes the test binary the sandbox (init).
	childEnv = "EC2K8S_NODESANDBOX_CHILD"
)

// DefaultTimeout bounds a boot whose Node.Timeout is zero (and the test's deadline bounds all).
const DefaultTimeout = 3 * time.Minute

// Node is one node to boot.
type Node struct {
	// UserData is the EC2 user data as RunInstances takes it (before base64): a cloud-config, a
	// script or a MIME multipart, possibly gzip-compressed.
	UserData []byte
	Metadata Metadata
	// Files are more files to serve at FileServerURL + path (e.g. "/engine.sh":
	// StubInstaller("engine")); "/install.sh" here replaces the stub installer.
	Files map[string][]byte
	// Timeout bounds the boot; zero means DefaultTimeout.
	Timeout time.Duration
}

// Metadata is what the IMDS stub serves under /latest/meta-data/ (and the NoCloud seed's
// meta-data: instance-id, local-hostname, launch-index, availability-zone, region). Empty
// fields take the defaults shown.
type Metadata struct {
	InstanceID       string // i-0123456789abcdef0
	AMILaunchIndex   int
	LocalIPv4        string // 10.0.0.10
	PublicIPv4       string // none: /latest/meta-data/public-ipv4 is 404, as on EC2
	AvailabilityZone string // us-east-1a (placement/region is it without the letter)
	// Hostname is the private DNS name, served as hostname and local-hostname:
	// ip-10-0-0-10.ec2.internal (us-east-1) or ip-10-0-0-10.<region>.compute.internal.
	Hostname string
	// Extra are more meta-data paths, e.g. "instance-type": "t3.medium", "ami-id": "ami-1".
	Extra map[string]string
}

func (m Metadata) withDefaults() Metadata {
	if m.InstanceID == "" {
		m.InstanceID = "i-0123456789abcdef0"
	}
	if m.LocalIPv4 == "" {
		m.LocalIPv4 = "10.0.0.10"
	}
	if m.AvailabilityZone == "" {
		m.AvailabilityZone = "us-east-1a"
	}
	if m.Hostname == "" {
		name := "ip-" + strings.ReplaceAll(m.LocalIPv4, ".", "-")
		if r := m.region(); r == "us-east-1" {
			m.Hostname = name + ".ec2.internal"
		} else {
			m.Hostname = name + "." + r + ".compute.internal"
		}
	}
	return m
}

// region is the availability zone without its letter (or local zone suffix).
func (m Metadata) region() string {
	az := m.AvailabilityZone
	for len(az) > 0 && az[len(az)-1] >= 'a' && az[len(az)-1] <= 'z' {
		az = az[:len(az)-1]
	}
	return az
}

// Result is what a boot did. Boot does not judge it: see Status.OK and RequireDone.
type Result struct {
	// Status is `cloud-init status` after the four stages.
	Status Status
	// Stages are the four cloud-init commands, in order.
	Stages []Stage
	// Log is /var/log/cloud-init.log; OutputLog is /var/log/cloud-init-output.log (the output
	// of cloud-init and of the payload's commands).
	Log, OutputLog string
	// Files are the files the boot created, changed (content, mode or owner) or deleted, by
	// their path in the node, from the overlay's upper directory; directories only if new or
	// changed. The sandbox's own files (its stand-ins, the seed, its records) are left out
	// unless the boot changed them.
	Files map[string]*File
	// Calls are the calls to the systemctl, hostnamectl and hostname stand-ins, in order
	// (cloud-init's own included).
	Calls []Call
	// Installs are the runs of stub installers, in order.
	Installs []Install
	// IMDSRequests and FileRequests are the requests to the IMDS stub and the file server.
	IMDSRequests, FileRequests []Request
	// Hostname is the static hostname (/etc/hostname) after the boot; TransientHostname the
	// kernel's (the sandbox has its own UTS namespace).
	Hostname, TransientHostname string
	// Duration is the whole boot, setup included.
	Duration time.Duration

	root   string           // the cached root: the lower layer, for files the boot did not change
	hidden map[string]*File // the sandbox's own files, left out of Files
}

// Status is cloud-init's status.
type Status struct {
	// Status is "done", "error", "running", "disabled" or "not started";
	// ExtendedStatus adds the condition: "done", "degraded done", "error - done", ...
	Status, ExtendedStatus string
	BootStatusCode         string // "enabled-by-generator"
	Detail                 string // "DataSourceNoCloud [seed=/var/lib/cloud/seed/nocloud]"
	Errors                 []string
	// RecoverableErrors are the WARNING (and DEPRECATED, ...) log lines, by level.
	RecoverableErrors map[string][]string
	// ExitCode is `cloud-init status`'s: 0 done, 1 error, 2 recoverable errors.
	ExitCode int
	// Long is the text of `cloud-init status --long`; JSON is `cloud-init status --format=json`.
	Long string
	JSON json.RawMessage
}

// OK reports whether cloud-init finished with neither errors nor recoverable errors.
func (s Status) OK() bool {
	return s.Status == "done" && s.ExitCode == 0 && len(s.Errors) == 0 && len(s.RecoverableErrors) == 0
}

// Stage is one cloud-init command of the boot.
type Stage struct {
	Args     []string // "init", "--local"
	ExitCode int
	TimedOut bool
	// Output is its standard output and error. cloud-init sends most of it to
	// /var/log/cloud-init-output.log instead (Result.OutputLog).
	Output   string
	Duration time.Duration
}

// File is a file of the node that the boot created, changed or deleted.
type File struct {
	Path string
	// Mode has the type bits (fs.ModeDir, fs.ModeSymlink) and the permissions, setuid, setgid
	// and sticky bits.
	Mode         fs.FileMode
	UID, GID     int
	Owner, Group string // from the node's /etc/passwd and /etc/group after the boot
	Content      []byte // a regular file's
	Link         string // a symlink's target
	// Deleted: the boot deleted the file (an overlay whiteout); nothing else is set.
	Deleted bool
	// opaque: a directory the boot deleted and made again; the lower layer's entries are gone.
	opaque bool
	lower  bool // the cached root's (only from Result.lstat)
}

// Call is one call to a stand-in.
type Call struct {
	Tool string   // "systemctl", "hostnamectl" or "hostname"
	Args []string // without the tool: "enable", "--now", "foo"
	// Caller is the calling process's command line, arguments separated by spaces
	// ("/usr/bin/python3 /usr/bin/cloud-init init" for cloud-init's own).
	Caller string
}

// Install is one run of a stub installer.
type Install struct {
	Name string   // StubInstaller's name: "install.sh" for InstallerURL's
	Arg0 string   // $0: "/tmp/install.sh", or "sh" for `curl ... | sh -s -- ARGS`
	Args []string // its arguments
	Env  map[string]string
	Dir  string // working directory
	// Stdin is what its standard input was: "pipe" (e.g. curl | sh), "/dev/null", a path, or
	// "closed".
	Stdin string
}

// Boot boots n in a fresh sandbox and returns what the boot did. It fails the test if the
// sandbox itself fails, and skips it (fails it under EC2K8S_REQUIRE_SANDBOX) without root or
// without the cached root. The sandbox is gone when Boot returns: namespaces, mounts,
// processes and the overlay's directories.
func Boot(t testing.TB, n Node) *Result {
	t.Helper()
	root := sandboxRoot(t)
	n.Metadata = n.Metadata.withDefaults()
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok && dl.Add(-10*time.Second).Before(deadline) {
			deadline = dl.Add(-10 * time.Second)
		}
	}

	sweepStale()
	work, err := os.MkdirTemp("", fmt.Sprintf("nodesandbox-%d-", os.Getpid()))
	if err != nil {
		t.Fatalf("nodesandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(work); err != nil {
			t.Errorf("nodesandbox: removing %s: %v", work, err)
		}
	})
	if strings.ContainsAny(work+root, ",:") {
		t.Fatalf("nodesandbox: overlayfs cannot take a path with ',' or ':' (%s, %s): set TMPDIR or %s", work, root, rootEnv)
	}
	specJSON, err := json.Marshal(spec{Root: root, Node: n, Deadline: deadline})
	if err != nil {
		t.Fatalf("nodesandbox: %v", err)
	}
	if err := os.WriteFile(filepath.Join(work, "spec.json"), specJSON, 0o600); err != nil {
		t.Fatalf("nodesandbox: %v", err)
	}

	// The child is this test binary, in new namespaces; the package's init makes it the sandbox.
	// It is PID 1 of its PID namespace: when it exits, or is killed because this process died
	// (Pdeathsig), the kernel kills every process of the boot and the mount namespace with the
	// overlay goes with them.
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(20*time.Second))
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe")
	cmd.Args = []string{"nodesandbox"}
	cmd.Env = append(os.Environ(), childEnv+"="+work)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("nodesandbox: the sandbox failed: %v\n%s", err, out.String())
	}
	var rep report
	if b, err := os.ReadFile(filepath.Join(work, "report.json")); err != nil {
		t.Fatalf("nodesandbox: the sandbox left no report: %v\n%s", err, out.String())
	} else if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("nodesandbox: the sandbox's report: %v", err)
	}
	r, err := collect(root, filepath.Join(work, "upper"), &rep)
	if err != nil {
		t.Fatalf("nodesandbox: reading what the boot did: %v", err)
	}
	r.Duration = time.Since(start)
	t.Logf("nodesandbox: booted %s in %s (cloud-init %s): %s", n.Metadata.InstanceID,
		r.Duration.Round(time.Millisecond), stageTimes(r.Stages), r.Status.ExtendedStatus)
	return r
}

// sweepStale removes the work directories of boots whose test process is gone: one killed
// (SIGKILL) ran no cleanup. Its sandbox died with it (Pdeathsig), so nothing uses them.
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "nodesandbox-*-*"))
	for _, d := range dirs {
		pid, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(filepath.Base(d), "nodesandbox-"), "-", 2)[0])
		if err == nil && pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

func stageTimes(stages []Stage) string {
	var parts []string
	for _, s := range stages {
		parts = append(parts, s.Duration.Round(10*time.Millisecond).String())
	}
	return strings.Join(parts, " + ")
}

// sandboxRoot returns the cached root, or skips (fails) the test saying why it cannot boot.
func sandboxRoot(t testing.TB) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(requireEnv) != "" {
			t.Fatalf("nodesandbox: "+format+" (%s is set)", append(args, requireEnv)...)
		}
		t.Skipf("nodesandbox: "+format+"; `make sandbox` requires it", args...)
	}
	if os.Geteuid() != 0 {
		unavailable("the node sandbox needs root (mount and network namespaces, overlayfs, chroot): run the tests as root")
	}
	root := os.Getenv(rootEnv)
	if root == "" {
		root = rootFromTools()
	}
	if root == "" {
		unavailable("%s is not set and tools/tools.sh was not found: run `make tools` and `eval \"$(tools/tools.sh env)\"`", rootEnv)
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/cloud-init")); err != nil {
		unavailable("no sandbox root at %s: run `make tools` (or tools/tools.sh sandbox) as root", root)
	}
	return root
}

// rootFromTools asks tools/tools.sh (found above the working directory, the package's) where
// the root is, so that `go test` works without the Makefile's environment.
func rootFromTools() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		script := filepath.Join(dir, "tools", "tools.sh")
		if _, err := os.Stat(script); err == nil {
			out, err := exec.Command("bash", script, "env").Output()
			if err != nil {
				return ""
			}
			for _, line := range strings.Split(string(out), "\n") {
				if v, ok := strings.CutPrefix(line, "export "+rootEnv+"="); ok {
					return v
				}
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// RequireDone fails the test unless cloud-init finished with neither errors nor recoverable
// errors, showing the status, the stages' output and the end of the logs.
func (r *Result) RequireDone(t testing.TB) {
	t.Helper()
	if !r.Status.OK() {
		t.Fatalf("cloud-init did not finish cleanly (%s, exit %d):\n%s", r.Status.ExtendedStatus, r.Status.ExitCode, r.Summary())
	}
}

// Summary is a diagnostic: the status, each stage's output, and the end of both logs.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "== cloud-init status --long (exit %d)\n%s\n", r.Status.ExitCode, r.Status.Long)
	for _, s := range r.Stages {
		fmt.Fprintf(&b, "== cloud-init %s: exit %d, %s, timed out %v\n%s", strings.Join(s.Args, " "), s.ExitCode, s.Duration.Round(time.Millisecond), s.TimedOut, s.Output)
	}
	fmt.Fprintf(&b, "== /var/log/cloud-init-output.log (end)\n%s\n", tail(r.OutputLog, 40))
	fmt.Fprintf(&b, "== /var/log/cloud-init.log (end)\n%s\n", tail(r.Log, 60))
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// CallsTo returns the arguments of each call to one stand-in ("systemctl", ...), in order.
func (r *Result) CallsTo(tool string) [][]string {
	var out [][]string
	for _, c := range r.Calls {
		if c.Tool == tool {
			out = append(out, c.Args)
		}
	}
	return out
}

// errNotExist wraps fs.ErrNotExist with the node's path.
func errNotExist(path string) error {
	return &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}
