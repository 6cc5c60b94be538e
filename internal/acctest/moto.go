package acctest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Moto is a moto server listening on 127.0.0.1 behind a StrictEC2 proxy. The caller should
// call Stop when finished.
type Moto struct {
	// URL is the base URL clients use, http://127.0.0.1:<port>: the strict proxy's, so every
	// EC2 request meets EC2's rules.
	URL string
	// DirectURL is moto's own base URL, for what must bypass the proxy.
	DirectURL string
	// Strict is the proxy at URL.
	Strict *StrictEC2
	// LogPath is the server's own log, kept for failed runs.
	LogPath string
	cmd     *exec.Cmd
	done    chan error
}

// MotoOptions change how a moto server starts.
type MotoOptions struct {
	// Env holds extra environment variables for the server, such as
	// INITIAL_NO_AUTH_ACTION_COUNT=N to enforce IAM after N requests.
	Env []string
}

// MotoBinary returns the moto_server the tests use: $EC2K8S_MOTO_SERVER (set by the Makefile
// from tools/tools.sh), else the one on PATH.
func MotoBinary() (string, error) {
	if p := os.Getenv("EC2K8S_MOTO_SERVER"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("moto_server")
	if err != nil {
		return "", errors.New("moto_server not found: run `make tools` and the tests through the Makefile, or set EC2K8S_MOTO_SERVER")
	}
	return p, nil
}

// StartMoto starts a moto server on a free 127.0.0.1 port, waits until it answers and puts a
// StrictEC2 proxy, signing its own look-ups with AccessKey, in front of it.
func StartMoto(ctx context.Context, opts MotoOptions) (*Moto, error) {
	bin, err := MotoBinary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.CreateTemp("", "ec2k8s-moto-*.log")
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }() // the child holds its own descriptor
	m := &Moto{DirectURL: "http://127.0.0.1:" + strconv.Itoa(port), LogPath: logFile.Name(), done: make(chan error, 1)}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Env = append(serverEnv(), opts.Env...)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	m.cmd.SysProcAttr = childProcAttr()
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { m.done <- m.cmd.Wait() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := m.ping(ctx); err == nil {
			if m.Strict, err = NewStrictEC2(m.DirectURL, credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, "")); err != nil {
				m.Stop()
				return nil, err
			}
			m.URL = m.Strict.URL
			return m, nil
		}
		select {
		case err := <-m.done:
			return nil, fmt.Errorf("moto_server exited before answering (%w):\n%s", err, m.logTail())
		case <-ctx.Done():
			m.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, fmt.Errorf("moto_server did not answer on %s within 60s:\n%s", m.DirectURL, m.logTail())
		}
	}
}

func (m *Moto) ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.DirectURL+"/moto-api/data.json", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto answered %s", resp.Status)
	}
	return nil
}

// Reset empties every emulated service and the proxy's state, so each test starts from moto's
// default state and the proxy's defaults.
func (m *Moto) Reset(ctx context.Context) error {
	if m.Strict != nil {
		m.Strict.Reset()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.DirectURL+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: %s", resp.Status)
	}
	return nil
}

// Stop closes the proxy, ends the server and waits for it.
func (m *Moto) Stop() {
	if m == nil || m.cmd.Process == nil {
		return
	}
	if m.Strict != nil {
		m.Strict.Close()
	}
	_ = m.cmd.Process.Kill()
	select {
	case err := <-m.done:
		_ = err // killed: the exit status says nothing useful
	case <-time.After(10 * time.Second):
	}
}

// serverEnv is the test process's environment without AWS_* variables: moto runs botocore,
// which must not see the tests' isolated settings (an empty AWS_PROFILE breaks it).
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// logTail returns the end of the server's log, for error messages.
func (m *Moto) logTail() string {
	b, _ := os.ReadFile(m.LogPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
