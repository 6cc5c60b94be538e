package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Access is how to reach a cluster's API: its URL, the CA bundle that signs its serving
// certificate, and a client certificate with its key, all PEM.
type Access struct {
	URL, CA, Cert, Key string
}

// Client is a client of one cluster's API.
type Client struct {
	cs kubernetes.Interface
	// Poll is how often waits ask the API; 2s when zero.
	Poll time.Duration
	// Progress reports what the client waits for, for the provider's log; may be nil.
	Progress func(msg string, fields map[string]any)
}

// New is a client for a. Every request is bounded (15 s), so an unreachable address fails a
// check instead of hanging a wait.
func New(a Access) (*Client, error) {
	if a.URL == "" {
		return nil, errors.New("kubeapi: no API server URL")
	}
	cfg := &rest.Config{
		Host:            a.URL,
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte(a.CA), CertData: []byte(a.Cert), KeyData: []byte(a.Key)},
		Timeout:         15 * time.Second,
		UserAgent:       "terraform-provider-ec2k8s",
		QPS:             20,
		Burst:           40,
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeapi: %w", err)
	}
	return &Client{cs: cs}, nil
}

// NewForClientset is a client over an existing clientset (tests).
func NewForClientset(cs kubernetes.Interface) *Client { return &Client{cs: cs} }

func (c *Client) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return 2 * time.Second
}

func (c *Client) progress(msg string, fields map[string]any) {
	if c.Progress != nil {
		c.Progress(msg, fields)
	}
}

// NodeStatus is a registered node as the API reports it.
type NodeStatus struct {
	Name           string
	Ready          bool
	KubeletVersion string
}

// Status is one look at the cluster: whether the API answers /readyz, its version, the nodes it
// has, and which expected nodes are missing or not Ready.
type Status struct {
	APIReady  bool
	APIError  string
	Version   string
	Nodes     []NodeStatus
	Missing   []string
	NotReady  []string
	Unhealthy string // why /readyz is not ok, when it answered
}

// Active says whether the cluster is Active: the API is ready and every expected node is
// registered and Ready.
func (s Status) Active() bool { return s.APIReady && len(s.Missing) == 0 && len(s.NotReady) == 0 }

// Check looks at the cluster once; expected are the node names its pools have.
func (c *Client) Check(ctx context.Context, expected []string) Status {
	var s Status
	body, err := c.cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		s.APIError = err.Error()
		if len(body) > 0 {
			s.Unhealthy = strings.TrimSpace(string(body))
		}
		return s
	}
	s.APIReady = true
	if v, err := c.cs.Discovery().ServerVersion(); err == nil {
		s.Version = v.GitVersion
	}
	nodes, err := c.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		s.APIReady, s.APIError = false, "listing nodes: "+err.Error()
		return s
	}
	byName := map[string]NodeStatus{}
	for _, n := range nodes.Items {
		ns := NodeStatus{Name: n.Name, Ready: nodeReady(n), KubeletVersion: n.Status.NodeInfo.KubeletVersion}
		s.Nodes = append(s.Nodes, ns)
		byName[n.Name] = ns
	}
	slices.SortFunc(s.Nodes, func(a, b NodeStatus) int { return strings.Compare(a.Name, b.Name) })
	for _, name := range expected {
		switch n, ok := byName[name]; {
		case !ok:
			s.Missing = append(s.Missing, name)
		case !n.Ready:
			s.NotReady = append(s.NotReady, name)
		}
	}
	return s
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// WaitActive waits until the cluster is Active or ctx ends; then the error says exactly what is
// missing: the API, or which nodes are not registered or not Ready.
func (c *Client) WaitActive(ctx context.Context, expected []string) (Status, error) {
	for {
		s := c.Check(ctx, expected)
		if s.Active() {
			return s, nil
		}
		c.progress("waiting for the cluster to be Active", map[string]any{"api_ready": s.APIReady, "missing": s.Missing, "not_ready": s.NotReady})
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("the cluster is not Active: %s (%w)", s.Why(), ctx.Err())
		case <-time.After(c.poll()):
		}
	}
}

// Why says what keeps the cluster from being Active.
func (s Status) Why() string {
	if !s.APIReady {
		why := "the API server does not answer /readyz"
		if s.Unhealthy != "" {
			why = "the API server is not ready: " + s.Unhealthy
		}
		return why + " (" + s.APIError + ")"
	}
	var parts []string
	if len(s.Missing) > 0 {
		parts = append(parts, "nodes not registered: "+strings.Join(s.Missing, ", "))
	}
	if len(s.NotReady) > 0 {
		parts = append(parts, "nodes not Ready: "+strings.Join(s.NotReady, ", "))
	}
	if len(parts) == 0 {
		return "nothing: it is Active"
	}
	return strings.Join(parts, "; ")
}
