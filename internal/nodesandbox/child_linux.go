//go:build linux

package nodesandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

// spec is what Boot tells the sandbox (work/spec.json).
type spec struct {
	Root     string
	Node     Node
	Deadline time.Time
}

// report is what the sandbox tells Boot (work/report.json).
type report struct {
	Stages            []Stage
	Status            Status
	IMDS, Files       []Request
	TransientHostname string
	// Plumbing are the paths the sandbox itself made in the node: a file's SHA-256, or "dir".
	Plumbing map[string]string
}

// The stages of a boot, as systemd runs them on a node: cloud-init-local, cloud-init-network,
// cloud-config and cloud-final.
var bootStages = [][]string{{"init", "--local"}, {"init"}, {"modules", "--mode=config"}, {"modules", "--mode=final"}}

// bootEnv is the environment cloud-init gets: systemd's PATH for services and the locale of a
// cloud image. Like a systemd service, no HOME.
var bootEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}

// init makes a test binary that imports this package the sandbox when Boot re-executes it
// (childEnv set): it boots and exits before the tests' flags are even parsed.
func init() {
	work := os.Getenv(childEnv)
	if work == "" {
		return
	}
	if err := sandbox(work); err != nil {
		fmt.Fprintln(os.Stderr, "nodesandbox:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// sandbox runs as PID 1 of fresh mount, network, UTS, IPC and PID namespaces: it mounts the
// node's overlay, starts the stubs and boots. Nothing needs undoing: the namespaces and every
// process and mount in them end when it exits.
func sandbox(work string) error {
	var sp spec
	b, err := os.ReadFile(filepath.Join(work, "spec.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &sp); err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(context.Background(), sp.Deadline)
	defer cancel()

	// Private propagation first: no mount of the sandbox may reach the host's namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	if err := syscall.Sethostname([]byte("localhost")); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	upper, lower, merged := filepath.Join(work, "upper"), filepath.Join(work, "overlay-work"), filepath.Join(work, "merged")
	for _, d := range []string{upper, lower, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	// metacopy and redirect_dir off: every changed file is whole in the upper directory.
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s,metacopy=off,redirect_dir=off", sp.Root, upper, lower)
	if err := syscall.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting the overlay (%s): %w", opts, err)
	}

	pl := plumber{root: merged, made: map[string]string{}}
	if err := pl.setUp(sp.Node); err != nil {
		return fmt.Errorf("preparing the node: %w", err)
	}
	if err := mountSystem(merged); err != nil {
		return err
	}
	for _, args := range [][]string{{"link", "set", "lo", "up"}, {"addr", "add", IMDSAddress + "/32", "dev", "lo"}} {
		if out, err := chrootCmd(ctx, merged, bootEnv, "/usr/bin/ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	md := newIMDS(sp.Node.Metadata, sp.Node.UserData)
	files := newFileServer(sp.Node.Files)
	for addr, h := range map[string]http.Handler{IMDSAddress + ":80": md, strings.TrimPrefix(FileServerURL, "http://"): files} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
	}

	rep := report{Plumbing: pl.made}
	for i, args := range bootStages {
		st, err := runStage(ctx, merged, bootEnv, filepath.Join(work, fmt.Sprintf("stage-%d.out", i)), args...)
		if err != nil {
			return err
		}
		rep.Stages = append(rep.Stages, st)
	}
	rep.Status, err = status(merged, work)
	if err != nil {
		return err
	}
	rep.IMDS, rep.Files = md.rec.list(), files.rec.list()
	if rep.TransientHostname, err = os.Hostname(); err != nil {
		return err
	}
	b, err = json.Marshal(rep)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(work, "report.json"), b, 0o600)
}

// plumber writes the sandbox's own files into the node and remembers them.
type plumber struct {
	root string
	made map[string]string
}

func (p plumber) setUp(n Node) error {
	realHost, err := os.ReadFile(filepath.Join(p.root, "usr/bin/hostname"))
	if err != nil {
		return err
	}
	metaData, err := yaml.Marshal(map[string]any{
		"instance-id": n.Metadata.InstanceID, "local-hostname": n.Metadata.Hostname, "launch-index": n.Metadata.AMILaunchIndex,
		"availability-zone": n.Metadata.AvailabilityZone, "region": n.Metadata.region(),
	})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path    string
		content []byte
		mode    os.FileMode
	}{
		{"/usr/bin/systemctl", []byte(systemctlScript), 0o755},
		{"/usr/bin/hostnamectl", []byte(hostnamectlScript), 0o755},
		{realHostname, realHost, 0o755},
		{"/usr/bin/hostname", []byte(hostnameScript), 0o755},
		// What systemd and cloud-init's generator leave for cloud-init on a node: it runs under
		// systemd (so it uses systemctl), and is enabled.
		{"/run/cloud-init/enabled", nil, 0o644},
		{"/var/lib/cloud/seed/nocloud/user-data", n.UserData, 0o600},
		{"/var/lib/cloud/seed/nocloud/meta-data", metaData, 0o644},
	} {
		if err := p.file(f.path, f.content, f.mode); err != nil {
			return err
		}
	}
	for _, d := range []string{"/run/systemd/system", recordDir} {
		if err := p.dir(d); err != nil {
			return err
		}
	}
	return nil
}

func (p plumber) dir(path string) error {
	if _, err := os.Lstat(filepath.Join(p.root, path)); err == nil {
		return nil
	}
	if err := p.dir(filepath.Dir(path)); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(p.root, path), 0o755); err != nil {
		return err
	}
	p.made[path] = "dir"
	return nil
}

func (p plumber) file(path string, content []byte, mode os.FileMode) error {
	if err := p.dir(filepath.Dir(path)); err != nil {
		return err
	}
	full := filepath.Join(p.root, path)
	_ = os.Remove(full) // a stand-in replaces the binary, not what a hard link shares
	if err := os.WriteFile(full, content, mode); err != nil {
		return err
	}
	if err := os.Chmod(full, mode); err != nil { // the umask does not apply
		return err
	}
	sum := sha256.Sum256(content)
	p.made[path] = hex.EncodeToString(sum[:])
	return nil
}

// mountSystem gives the chroot /proc (of the sandbox's PID namespace), a read-only /sys (of its
// network namespace), and a minimal /dev of its own.
func mountSystem(root string) error {
	mounts := []struct {
		src, target, fstype string
		flags               uintptr
		data                string
	}{
		{"proc", "proc", "proc", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
		{"sysfs", "sys", "sysfs", syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
		{"tmpfs", "dev", "tmpfs", syscall.MS_NOSUID | syscall.MS_NOEXEC, "mode=0755,size=1m"},
	}
	for _, m := range mounts {
		if err := syscall.Mount(m.src, filepath.Join(root, m.target), m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mounting %s on /%s: %w", m.fstype, m.target, err)
		}
	}
	dev := filepath.Join(root, "dev")
	for name, num := range map[string]int{"null": 1<<8 | 3, "zero": 1<<8 | 5, "full": 1<<8 | 7, "random": 1<<8 | 8, "urandom": 1<<8 | 9, "tty": 5 << 8} {
		p := filepath.Join(dev, name)
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, num); err != nil {
			return fmt.Errorf("mknod /dev/%s: %w", name, err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	for _, d := range []string{"shm", "pts"} {
		if err := os.Mkdir(filepath.Join(dev, d), 0o755); err != nil {
			return err
		}
	}
	if err := syscall.Mount("tmpfs", filepath.Join(dev, "shm"), "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "mode=1777,size=16m"); err != nil {
		return fmt.Errorf("mounting /dev/shm: %w", err)
	}
	return nil
}

// chrootCmd is a command run in the node: chrooted, in its own session (no terminal, and one
// process group to kill), killed with its group when ctx ends.
func chrootCmd(ctx context.Context, root string, env []string, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Setsid: true}
	cmd.Dir = "/"
	cmd.Env = env
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runStage runs one cloud-init command with its output in a file, so that a process it leaves
// behind holding the output open cannot hold up the boot.
func runStage(ctx context.Context, root string, env []string, outPath string, args ...string) (Stage, error) {
	st := Stage{Args: args}
	out, err := os.Create(outPath)
	if err != nil {
		return st, err
	}
	defer func() { _ = out.Close() }()
	cmd := chrootCmd(ctx, root, env, "/usr/bin/cloud-init", args...)
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	err = cmd.Run()
	st.Duration = time.Since(start)
	st.TimedOut = ctx.Err() != nil
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		st.ExitCode = exit.ExitCode()
	case err != nil && !st.TimedOut:
		return st, fmt.Errorf("cloud-init %s: %w", strings.Join(args, " "), err)
	case err != nil:
		st.ExitCode = -1
	}
	b, err := os.ReadFile(outPath)
	st.Output = string(b)
	return st, err
}

// status runs `cloud-init status --long` and `--format=json` (their calls to systemctl are
// not recorded).
func status(root, work string) (Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := append(append([]string(nil), bootEnv...), noRecordEnv+"=1")
	long, err := runStage(ctx, root, env, filepath.Join(work, "status-long.out"), "status", "--long")
	if err != nil {
		return Status{}, err
	}
	js, err := runStage(ctx, root, env, filepath.Join(work, "status-json.out"), "status", "--format=json")
	if err != nil {
		return Status{}, err
	}
	var v struct {
		Status            string              `json:"status"`
		ExtendedStatus    string              `json:"extended_status"`
		BootStatusCode    string              `json:"boot_status_code"`
		Detail            string              `json:"detail"`
		Errors            []string            `json:"errors"`
		RecoverableErrors map[string][]string `json:"recoverable_errors"`
	}
	// The JSON document is on standard output; anything cloud-init warns on standard error,
	// which shares the file, is around it.
	doc := js.Output
	if i, j := strings.Index(doc, "{"), strings.LastIndex(doc, "}"); i >= 0 && j > i {
		doc = doc[i : j+1]
	}
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return Status{}, fmt.Errorf("cloud-init status --format=json: %w\n%s", err, js.Output)
	}
	return Status{
		Status: v.Status, ExtendedStatus: v.ExtendedStatus, BootStatusCode: v.BootStatusCode, Detail: v.Detail,
		Errors: v.Errors, RecoverableErrors: v.RecoverableErrors, ExitCode: long.ExitCode,
		Long: long.Output, JSON: json.RawMessage(doc),
	}, nil
}
