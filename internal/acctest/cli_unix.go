//go:build unix

package acctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a CLI command started in its own process group, so that it and the provider plugin
// it starts can be killed together.
type Proc struct {
	Cmd  *exec.Cmd
	Args []string
	// Stdout and Stderr are files in the CLI's directory holding the command's output.
	Stdout, Stderr string
	pgid           int
	done           chan struct{}
	err            error
}

// Start starts the CLI with args in a new process group (its pgid is its pid) and returns at
// once; the test fails if it cannot start. A command still running when the test ends is
// killed with its group.
func (c *CLIDir) Start(args ...string) *Proc {
	c.t.Helper()
	c.runs++
	p := &Proc{Args: args, done: make(chan struct{}),
		Stdout: filepath.Join(c.Dir, "started-"+strconv.Itoa(c.runs)+".stdout"),
		Stderr: filepath.Join(c.Dir, "started-"+strconv.Itoa(c.runs)+".stderr")}
	outF, err := os.Create(p.Stdout)
	if err != nil {
		c.t.Fatal(err)
	}
	errF, err := os.Create(p.Stderr)
	if err != nil {
		c.t.Fatal(err)
	}
	p.Cmd = c.command(args)
	p.Cmd.Stdout, p.Cmd.Stderr = outF, errF
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Cmd.Start(); err != nil {
		_, _ = outF.Close(), errF.Close()
		c.t.Fatalf("starting %s %s: %v", filepath.Base(c.Bin), strings.Join(args, " "), err)
	}
	p.pgid = p.Cmd.Process.Pid
	c.t.Logf("$ %s %s &  # pid and pgid %d", filepath.Base(c.Bin), strings.Join(args, " "), p.pgid)
	go func() {
		p.err = p.Cmd.Wait()
		_, _ = outF.Close(), errF.Close()
		close(p.done)
	}()
	c.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.KillGroup()
			_ = p.WaitGone(30 * time.Second)
		}
	})
	return p
}

// Pgid is the process group of the command and of the plugins it starts.
func (p *Proc) Pgid() int { return p.pgid }

// KillGroup sends SIGKILL to the command's whole process group: the CLI and its provider
// plugin die at once, without a chance to write state or release locks. It is safe to call
// from any goroutine, such as a FaultProxy hook.
func (p *Proc) KillGroup() error { return syscall.Kill(-p.pgid, syscall.SIGKILL) }

// Wait waits for the command (not its group) to end and returns its wait status.
func (p *Proc) Wait() syscall.WaitStatus {
	<-p.done
	if p.Cmd.ProcessState == nil {
		return 0
	}
	ws, _ := p.Cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ws
}

// Output returns what the command has written so far.
func (p *Proc) Output() (stdout, stderr string) {
	o, _ := os.ReadFile(p.Stdout)
	e, _ := os.ReadFile(p.Stderr)
	return string(o), string(e)
}

// WaitGone waits until the command has ended and no live process is left in its group (the
// plugin, orphaned by a kill, may outlive the CLI by a moment; zombies nobody reaps are not
// counted), or returns an error naming the processes left after timeout.
func (p *Proc) WaitGone(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	select {
	case <-p.done:
	case <-time.After(timeout):
		return fmt.Errorf("process %d is still running after %s", p.pgid, timeout)
	}
	for {
		left := groupMembers(p.pgid)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process group %d still has live processes after %s: %v", p.pgid, timeout, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// GroupMembers lists the live processes of the command's group, as "pid command".
func (p *Proc) GroupMembers() []string { return groupMembers(p.pgid) }

// groupMembers lists the live (not zombie) processes in a process group, from /proc; where there
// is no /proc it asks the kernel whether the group has any process at all.
func groupMembers(pgid int) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		if syscall.Kill(-pgid, 0) == syscall.ESRCH {
			return nil
		}
		return []string{"(unknown members)"}
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		out = append(out, fmt.Sprintf("%d %s", pid, s[open+1:end]))
	}
	return out
}
