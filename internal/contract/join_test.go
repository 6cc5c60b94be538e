package contract

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// These tests hold the init-and-join rules of the client against moto behind the strict proxy:
// one node per cluster starts it, every other joins as its role says, and each gets the
// secrets of its role only.

// clusterPKI is one PKI for the join tests.
var clusterPKI = sync.OnceValue(func() *bootstrap.PKI {
	p, err := bootstrap.NewPKI(rand.Reader, time.Now(), "faults")
	if err != nil {
		panic(err)
	}
	return p
})

// rolePool is a pool of cluster "faults" with roles, on a resolved template.
func rolePool(t *testing.T, c *provisioning.Client, name string, quantity int, roles provisioning.Roles) provisioning.Pool {
	t.Helper()
	p := faultPool(t, c, name)
	p.Quantity, p.Roles, p.PKI = quantity, roles, clusterPKI()
	p.Spec.Boot.Roles = roles.List()
	p.Spec.Boot.ClusterCIDR, p.Spec.Boot.ServiceCIDR, p.Spec.Boot.ClusterDNS = bootstrap.DefaultClusterCIDR, bootstrap.DefaultServiceCIDR, bootstrap.DefaultClusterDNS
	p.Spec.Boot.NetworkPlugin = "canal"
	p.Spec.Boot.KubernetesVersion = bootstrap.DefaultVersion("rke2")
	return p
}

// booted is what a node's user data says about how it boots.
type booted struct {
	id, privateIP, pool string
	hostname            string // <hostname-prefix tag><index-base tag + launch index>, as the node names itself
	state               string
	init                bool
	server              string // the join URL
	caKeys              bool
	serverToken         bool
	agentToken          bool
}

// serverKeyRe finds the server: key of a node's config (not disable-apiserver:).
var serverKeyRe = regexp.MustCompile(`(?m)^\s*server: (\S+)$`)

// bootOf reads every live node's user data of the cluster from moto.
func bootOf(t *testing.T, m *acctest.Moto) []booted {
	t.Helper()
	return bootIn(t, m, "pending", "running")
}

// bootIn reads the user data of the cluster's nodes in states from moto; every node it ever
// launched, terminated ones included, when no state is given.
func bootIn(t *testing.T, m *acctest.Moto, states ...string) []booted {
	t.Helper()
	ctx := context.Background()
	c := directEC2(m)
	filters := []types.Filter{acctest.TagFilter(provisioning.TagCluster, "faults")}
	if len(states) > 0 {
		filters = append(filters, acctest.StateFilter(states...))
	}
	p := clusterPKI()
	var all []booted
	for _, i := range acctest.Instances(t, m, "us-west-2", filters...) {
		attr, err := c.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: i.InstanceId, Attribute: types.InstanceAttributeNameUserData})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.StdEncoding.DecodeString(aws.ToString(attr.UserData.Value))
		if err != nil {
			t.Fatal(err)
		}
		if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
			if raw, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		ud := string(raw)
		b := booted{id: aws.ToString(i.InstanceId), privateIP: aws.ToString(i.PrivateIpAddress),
			caKeys: strings.Contains(ud, "PRIVATE KEY"), serverToken: strings.Contains(ud, p.ServerToken), agentToken: strings.Contains(ud, p.AgentToken)}
		tags := map[string]string{}
		for _, tag := range i.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		b.pool = tags[provisioning.TagPool]
		base, err := strconv.Atoi(tags[provisioning.TagIndexBase])
		if err != nil {
			t.Fatalf("%s: index base %q: %v", b.id, tags[provisioning.TagIndexBase], err)
		}
		b.hostname = tags[provisioning.TagHostnamePrefix] + strconv.Itoa(base+int(aws.ToInt32(i.AmiLaunchIndex)))
		if i.State != nil {
			b.state = string(i.State.Name)
		}
		if m := serverKeyRe.FindStringSubmatch(ud); m != nil {
			b.server = m[1]
		} else {
			b.init = true
		}
		all = append(all, b)
	}
	return all
}

// TestJoin_oneInitAcrossConcurrentPools: two etcd pools of one cluster reconciled at once (as
// Terraform applies them in one provider process) start the cluster once; every other node
// joins through an etcd node's private address; only the init node gets CA keys.
func TestJoin_oneInitAcrossConcurrentPools(t *testing.T) {
	m := acctest.SharedMoto(t)
	m.Strict.SetLag(1) // EC2 may not list the init node at once: the lock must hold until it does
	c := strictClient(t, m.URL)
	pools := []provisioning.Pool{rolePool(t, c, "etcd-a", 3, provisioning.Roles{Etcd: true}), rolePool(t, c, "etcd-b", 2, provisioning.Roles{Etcd: true})}
	var wg sync.WaitGroup
	errs := make([]error, len(pools))
	for i, p := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = reconcile(context.Background(), strictClient(t, m.URL), p, nil)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	nodes := bootOf(t, m)
	if len(nodes) != 5 {
		t.Fatalf("%d nodes; want 5", len(nodes))
	}
	etcdIPs := map[string]bool{}
	for _, n := range nodes {
		etcdIPs[n.privateIP] = true
	}
	inits := 0
	for _, n := range nodes {
		switch {
		case n.init:
			inits++
			if !n.caKeys || !n.serverToken || !n.agentToken {
				t.Errorf("the init node %s: CA keys %v, server token %v, agent token %v; want all", n.id, n.caKeys, n.serverToken, n.agentToken)
			}
		default:
			host := strings.TrimSuffix(strings.TrimPrefix(n.server, "https://"), ":9345")
			if !etcdIPs[host] || host == n.privateIP {
				t.Errorf("%s joins through %s; want another etcd node's private address on 9345", n.id, n.server)
			}
			if n.caKeys || !n.serverToken || !n.agentToken {
				t.Errorf("joining server %s: CA keys %v, server token %v, agent token %v; want both tokens, no key", n.id, n.caKeys, n.serverToken, n.agentToken)
			}
		}
	}
	if inits != 1 {
		t.Errorf("%d nodes started the cluster; want exactly 1", inits)
	}
}

// TestJoin_byRole: control-plane-only nodes join through an etcd node, agents through a
// control-plane node (never an etcd-only one), every node accounted for; agents get the agent
// token only. A pool with no server to join through waits for one, and says so when it gives up.
func TestJoin_byRole(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	workers := rolePool(t, c, "workers", 2, provisioning.Roles{Worker: true})
	// The security group first, unhurried: the short deadline is for the wait for a server only.
	if _, err := c.EnsureSecurityGroups(context.Background(), workers); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, _, err := reconcile(ctx, c, workers, nil)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "join the cluster through a control-plane server, and cluster faults has none") {
		t.Fatalf("workers without a server: %v", err)
	}
	for _, p := range []provisioning.Pool{rolePool(t, c, "etcd", 1, provisioning.Roles{Etcd: true}), rolePool(t, c, "cp", 1, provisioning.Roles{ControlPlane: true}), workers} {
		if _, _, err := reconcile(context.Background(), c, p, nil); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
	}
	nodes := bootOf(t, m)
	want := map[string]string{"etcd-1": "init", "cp-1": "etcd-1", "workers-1": "cp-1", "workers-2": "cp-1"}
	if got := joinedThrough(nodes); !maps.Equal(got, want) {
		t.Errorf("node → the node it joins through\n got %v\nwant %v", got, want)
	}
	ip := map[string]string{}
	for _, n := range nodes {
		ip[n.pool] = n.privateIP
	}
	for _, n := range nodes {
		switch n.pool {
		case "cp":
			if n.server != "https://"+ip["etcd"]+":9345" || n.caKeys || !n.serverToken {
				t.Errorf("cp node joins through %s (keys %v, server token %v); want the etcd node %s, the tokens, no key", n.server, n.caKeys, n.serverToken, ip["etcd"])
			}
		case "workers":
			if n.server != "https://"+ip["cp"]+":9345" || n.caKeys || n.serverToken || !n.agentToken {
				t.Errorf("worker joins through %s (keys %v, server token %v, agent token %v); want the cp node %s and the agent token only", n.server, n.caKeys, n.serverToken, n.agentToken, ip["cp"])
			}
		}
	}
}

// TestJoin_agentsWaitForServersVersion: agents of a newer Kubernetes version than a server wait
// (here: give up, saying which servers are older) rather than run a kubelet newer than its
// API server.
func TestJoin_agentsWaitForServersVersion(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	servers := rolePool(t, c, "servers", 1, provisioning.Roles{Etcd: true, ControlPlane: true})
	if _, _, err := reconcile(context.Background(), c, servers, nil); err != nil {
		t.Fatal(err)
	}
	workers := rolePool(t, c, "workers", 1, provisioning.Roles{Worker: true})
	workers.Spec.Boot.KubernetesVersion = "v1.34.1+rke2r1"
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _, err := reconcile(ctx, c, workers, nil)
	if err == nil || !strings.Contains(err.Error(), "run v1.34.1+rke2r1 only once every server does; still older") {
		t.Fatalf("error = %v; want agents waiting for the servers", err)
	}
	if total, _ := everLaunched(t, m, "workers"); total != 0 {
		t.Errorf("%d agents launched before the servers were upgraded", total)
	}
}

// TestJoin_noEtcdServerLeft: every etcd node is gone while a control-plane server runs. A new
// etcd node can neither join (no member to join) nor start a cluster (a second one beside the
// servers): the launch is refused, naming the servers, and nothing is launched.
func TestJoin_noEtcdServerLeft(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	etcd := rolePool(t, c, "etcd", 1, provisioning.Roles{Etcd: true})
	for _, p := range []provisioning.Pool{etcd, rolePool(t, c, "cp", 1, provisioning.Roles{ControlPlane: true})} {
		if _, _, err := reconcile(context.Background(), c, p, nil); err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
	}
	gone := readNodes(t, c, "etcd")
	if err := c.TerminateAndWait(context.Background(), "faults/etcd", []string{gone[0].InstanceID}); err != nil {
		t.Fatal(err)
	}
	_, _, err := reconcile(context.Background(), c, etcd, nil)
	if err == nil || !strings.Contains(err.Error(), "has control-plane servers") || !strings.Contains(err.Error(), "no etcd server") {
		t.Fatalf("an etcd launch with only control-plane servers left: %v; want a refusal that says why", err)
	}
	if total, live := everLaunched(t, m, "etcd"); total != 1 || live != 0 {
		t.Errorf("etcd nodes: %d made, %d live; want the 1 made before, none live", total, live)
	}
}

// TestJoin_etcdNodesAreNotReplaced: a new spec or a smaller quantity for an etcd pool with nodes
// is refused, and nothing is launched or terminated.
func TestJoin_etcdNodesAreNotReplaced(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	etcd := rolePool(t, c, "etcd", 3, provisioning.Roles{Etcd: true})
	nodes, next, err := reconcile(context.Background(), c, etcd, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(*provisioning.Pool){
		"new spec":   func(p *provisioning.Pool) { p.Spec.Launch.RootSize = 64 },
		"scale down": func(p *provisioning.Pool) { p.Quantity = 1 },
	} {
		p := etcd
		p.NextIndex = next
		change(&p)
		_, _, err := reconcile(context.Background(), c, p, nodes)
		if !errors.Is(err, provisioning.ErrEtcdMembers) {
			t.Errorf("%s: error = %v; want the etcd refusal", name, err)
		}
	}
	if total, live := everLaunched(t, m, "etcd"); total != 3 || live != 3 {
		t.Errorf("%d made, %d live; want the same 3", total, live)
	}
	// Adding is fine.
	etcd.Quantity, etcd.NextIndex = 5, next
	if _, _, err := reconcile(context.Background(), c, etcd, nodes); err != nil {
		t.Fatalf("adding etcd nodes: %v", err)
	}
}

// TestJoin_stopWaitingWhenServersFail: pools of one run share a provisioning.Servers; when the
// only server pool fails (here: RunInstances refused), the worker pool waiting for a server to
// join through gives up with that failure, instead of waiting out its timeout, and launches
// nothing.
func TestJoin_stopWaitingWhenServersFail(t *testing.T) {
	m := acctest.SharedMoto(t)
	proxy := acctest.NewFaultProxy(t, m, 0, 1)
	defer proxy.Close()
	proxy.Force("RunInstances", acctest.Unauthorized)
	servers := provisioning.NewServers()
	client := func() *provisioning.Client {
		c := faultClient(t, proxy.URL)
		c.Servers = servers
		return c
	}
	etcd := rolePool(t, client(), "etcd", 1, provisioning.Roles{Etcd: true})
	workers := rolePool(t, client(), "workers", 2, provisioning.Roles{Worker: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var etcdErr, workersErr error
	wg.Add(2)
	go func() { defer wg.Done(); _, _, workersErr = reconcile(ctx, client(), workers, nil) }()
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		_, _, etcdErr = reconcile(ctx, client(), etcd, nil)
	}()
	wg.Wait()
	if etcdErr == nil {
		t.Fatal("the etcd pool launched with RunInstances refused")
	}
	if ctx.Err() != nil {
		t.Fatalf("the workers waited out the deadline: %v", workersErr)
	}
	if workersErr == nil || !strings.Contains(workersErr.Error(), "the server pools of this run failed (faults/etcd") ||
		!strings.Contains(workersErr.Error(), "UnauthorizedOperation") {
		t.Errorf("workers: %v; want the etcd pool's failure", workersErr)
	}
	if n := proxy.Count("RunInstances"); n != 1 {
		t.Errorf("%d RunInstances; want only the etcd pool's", n)
	}
}

// recordingRemover is a provisioning.Remover that notes each call, and whether the node's
// instance was still live at the time (asked of moto directly).
type recordingRemover struct {
	t      *testing.T
	m      *acctest.Moto
	mu     sync.Mutex
	calls  []string
	active int // Prepare-to-Forget spans in progress, across pools
	most   int
	fail   string // a node whose Prepare fails
}

func (r *recordingRemover) live(id string) bool {
	return states(r.t, r.m, []string{id})[id] == "running"
}

func (r *recordingRemover) Prepare(_ context.Context, n provisioning.Node, etcd bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active++
	r.most = max(r.most, r.active)
	r.calls = append(r.calls, fmt.Sprintf("prepare %s etcd=%v live=%v", n.Hostname, etcd, r.live(n.InstanceID)))
	if n.Hostname == r.fail {
		r.active--
		return errors.New("a PodDisruptionBudget holds")
	}
	return nil
}

func (r *recordingRemover) Forget(_ context.Context, n provisioning.Node) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active--
	r.calls = append(r.calls, fmt.Sprintf("forget %s live=%v", n.Hostname, r.live(n.InstanceID)))
	return nil
}

// TestJoin_etcdNodesLeaveThroughTheRemover: with a Remover (the cluster's API reachable), an etcd
// scale-down is allowed: each leaving node is prepared while it runs, terminated, then
// forgotten, newest first, one at a time across two etcd pools scaled down at once; a node whose
// preparation fails is left running and the apply says why. An etcd pool cannot go to zero
// while it holds the cluster's only members.
func TestJoin_etcdNodesLeaveThroughTheRemover(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	rec := &recordingRemover{t: t, m: m}
	a := rolePool(t, c, "etcd-a", 3, provisioning.Roles{Etcd: true})
	b := rolePool(t, c, "etcd-b", 2, provisioning.Roles{Etcd: true})
	nodesA, nextA, err := reconcile(context.Background(), c, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	nodesB, nextB, err := reconcile(context.Background(), c, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Quantity, a.NextIndex, a.Remover = 1, nextA, rec
	b.Quantity, b.NextIndex, b.Remover = 1, nextB, rec
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, pn := range []struct {
		p     provisioning.Pool
		nodes []provisioning.Node
	}{{a, nodesA}, {b, nodesB}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = reconcile(context.Background(), strictClient(t, m.URL), pn.p, pn.nodes)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if rec.most != 1 {
		t.Errorf("%d etcd nodes were leaving at once; want one at a time", rec.most)
	}
	var ofA []string
	for _, call := range rec.calls {
		if strings.Contains(call, "etcd-a-") {
			ofA = append(ofA, call)
		}
	}
	want := []string{
		"prepare etcd-a-3 etcd=true live=true", "forget etcd-a-3 live=false",
		"prepare etcd-a-2 etcd=true live=true", "forget etcd-a-2 live=false",
	}
	if !slices.Equal(ofA, want) {
		t.Errorf("pool etcd-a's removals\n got %q\nwant %q", ofA, want)
	}
	if len(rec.calls) != 6 {
		t.Errorf("%d calls; want 6 (3 leaving nodes): %q", len(rec.calls), rec.calls)
	}

	// A node that cannot be drained stays.
	added := nextA // the index the added node gets
	if _, nextA, err = reconcile(context.Background(), c, withQuantity(a, 2, nextA), readNodes(t, c, "etcd-a")); err != nil {
		t.Fatal(err)
	}
	rec.fail = fmt.Sprintf("etcd-a-%d", added)
	_, _, err = reconcile(context.Background(), c, withQuantity(a, 1, nextA), readNodes(t, c, "etcd-a"))
	if err == nil || !strings.Contains(err.Error(), "cannot leave the cluster safely, so it is left running") {
		t.Errorf("a node that cannot be drained: %v", err)
	}
	if left := readNodes(t, c, "etcd-a"); len(left) != 2 {
		t.Errorf("%d nodes of etcd-a after a failed drain; want both still there", len(left))
	}

	// etcd-b to zero is fine while etcd-a holds members; then etcd-a to zero is not.
	if _, _, err := reconcile(context.Background(), c, withQuantity(b, 0, nextB), readNodes(t, c, "etcd-b")); err != nil {
		t.Fatalf("etcd-b to zero: %v", err)
	}
	rec.fail = ""
	_, _, err = reconcile(context.Background(), c, withQuantity(a, 0, nextA), readNodes(t, c, "etcd-a"))
	if err == nil || !strings.Contains(err.Error(), "cannot go to zero nodes") {
		t.Errorf("the last etcd pool to zero: %v", err)
	}
}

func withQuantity(p provisioning.Pool, quantity, next int) provisioning.Pool {
	p.Quantity, p.NextIndex = quantity, next
	return p
}

func readNodes(t *testing.T, c *provisioning.Client, pool string) []provisioning.Node {
	t.Helper()
	nodes, err := c.ReadPool(context.Background(), "faults", pool)
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}

// joinURL is the server: a node joining through ip gets.
func joinURL(ip string) string { return "https://" + ip + ":9345" }

// TestJoin_firstNodeReplacementJoins: a new spec for the cluster's only etcd pool, with a Remover,
// replaces each node, the init node first, new before old: while servers of the cluster live, no
// replacement starts a second cluster. Each new node takes the next free number (numbers are
// never reused: 4, 5, 6), joins through the lowest-numbered etcd server still live, with both
// tokens and no CA key; each old node leaves through the Remover once its replacement runs.
func TestJoin_firstNodeReplacementJoins(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	rec := &recordingRemover{t: t, m: m}
	etcd := rolePool(t, c, "etcd", 3, provisioning.Roles{Etcd: true})
	nodes, next, err := reconcile(context.Background(), c, etcd, nil)
	if err != nil {
		t.Fatal(err)
	}
	old := map[string]booted{} // by hostname
	for _, n := range bootOf(t, m) {
		old[n.hostname] = n
	}
	if len(old) != 3 || !old["etcd-1"].init || old["etcd-2"].init || old["etcd-3"].init {
		t.Fatalf("before the replacement: %+v; want etcd-1..3, etcd-1 the init node", old)
	}

	etcd.Spec.Launch.RootSize = 64 // in the spec: every node is replaced
	etcd.NextIndex, etcd.Remover = next, rec
	nodes, next, err = reconcile(context.Background(), c, etcd, nodes)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Hostname)
	}
	if want := []string{"etcd-4", "etcd-5", "etcd-6"}; !slices.Equal(names, want) || next != 7 {
		t.Errorf("after the replacement: nodes %q, next %d; want %q, 7", names, next, want)
	}
	if total, live := everLaunched(t, m, "etcd"); total != 6 || live != 3 {
		t.Errorf("%d made, %d live; want 6 made, 3 live", total, live)
	}

	// The whole history, terminated nodes included: one init node ever, the first one.
	history := bootIn(t, m)
	if len(history) != 6 {
		t.Errorf("%d nodes ever; want 6", len(history))
	}
	var inits []string
	for _, n := range history {
		if n.init {
			inits = append(inits, n.hostname)
		}
	}
	if !slices.Equal(inits, []string{"etcd-1"}) {
		t.Errorf("nodes that started the cluster: %q; want etcd-1 only", inits)
	}
	// etcd-4 was launched while etcd-1..3 ran, etcd-5 once etcd-1 had left, etcd-6 once etcd-2 had.
	// The addresses are the old nodes' as read before: EC2 (and moto) give a terminated node's
	// private address to a later node.
	via := map[string]string{"etcd-4": "etcd-1", "etcd-5": "etcd-2", "etcd-6": "etcd-3"}
	for _, n := range history {
		through, ok := via[n.hostname]
		if !ok {
			continue
		}
		if n.state != "running" || n.server != joinURL(old[through].privateIP) || n.caKeys || !n.serverToken || !n.agentToken {
			t.Errorf("%s (%s) joins through %q (CA keys %v, server token %v, agent token %v); want running, through %s %s, both tokens, no key",
				n.hostname, n.state, n.server, n.caKeys, n.serverToken, n.agentToken, through, joinURL(old[through].privateIP))
		}
		delete(via, n.hostname)
	}
	if len(via) > 0 {
		t.Errorf("no replacement named %v", slices.Sorted(maps.Keys(via)))
	}

	want := []string{
		"prepare etcd-1 etcd=true live=true", "forget etcd-1 live=false",
		"prepare etcd-2 etcd=true live=true", "forget etcd-2 live=false",
		"prepare etcd-3 etcd=true live=true", "forget etcd-3 live=false",
	}
	if !slices.Equal(rec.calls, want) || rec.most != 1 {
		t.Errorf("the old etcd nodes' removals (at most %d at once)\n got %q\nwant %q", rec.most, rec.calls, want)
	}
}

// joinedThrough maps each of nodes (live ones: their private addresses are unique) to the
// node it joins through, by name: "init" for the node that starts the cluster, the server: URL
// itself when it is no node's private address on 9345.
func joinedThrough(nodes []booted) map[string]string {
	byURL := map[string]string{}
	for _, n := range nodes {
		byURL[joinURL(n.privateIP)] = n.hostname
	}
	got := map[string]string{}
	for _, n := range nodes {
		switch through, ok := byURL[n.server]; {
		case n.init:
			got[n.hostname] = "init"
		case ok:
			got[n.hostname] = through
		default:
			got[n.hostname] = n.server
		}
	}
	return got
}

// TestJoin_lowestNumberFirst: with several live servers, servers join through the etcd server
// with the lowest node number, agents through the control-plane server with the lowest, over
// their private addresses (read from moto); every node is accounted for.
func TestJoin_lowestNumberFirst(t *testing.T) {
	m := acctest.SharedMoto(t)
	c := strictClient(t, m.URL)
	etcd := rolePool(t, c, "etcd", 3, provisioning.Roles{Etcd: true})
	_, next, err := reconcile(context.Background(), c, etcd, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reconcile(context.Background(), c, rolePool(t, c, "cp", 2, provisioning.Roles{ControlPlane: true}), nil); err != nil {
		t.Fatalf("cp: %v", err)
	}
	workers := rolePool(t, c, "workers", 2, provisioning.Roles{Worker: true})
	_, nextWorkers, err := reconcile(context.Background(), c, workers, nil)
	if err != nil {
		t.Fatalf("workers: %v", err)
	}
	// A later etcd node, and a later agent, while the same servers live.
	if _, _, err := reconcile(context.Background(), c, withQuantity(etcd, 4, next), readNodes(t, c, "etcd")); err != nil {
		t.Fatalf("etcd to 4: %v", err)
	}
	if _, _, err := reconcile(context.Background(), c, withQuantity(workers, 3, nextWorkers), readNodes(t, c, "workers")); err != nil {
		t.Fatalf("workers to 3: %v", err)
	}
	nodes := bootOf(t, m)
	want := map[string]string{
		"etcd-1": "init", "etcd-2": "etcd-1", "etcd-3": "etcd-1", "etcd-4": "etcd-1",
		"cp-1": "etcd-1", "cp-2": "etcd-1",
		"workers-1": "cp-1", "workers-2": "cp-1", "workers-3": "cp-1",
	}
	if got := joinedThrough(nodes); !maps.Equal(got, want) {
		t.Errorf("node → the node it joins through\n got %v\nwant %v", got, want)
	}
	for _, n := range nodes {
		if n.init { // etcd-1, as the table says
			continue
		}
		agent := n.pool == "workers"
		if n.caKeys || n.serverToken == agent || !n.agentToken {
			t.Errorf("%s: CA keys %v, server token %v, agent token %v; want the tokens of its role and no key", n.hostname, n.caKeys, n.serverToken, n.agentToken)
		}
	}
}
