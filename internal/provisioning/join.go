package provisioning

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// server is a live server node of a cluster, as its tags say.
type server struct {
	InstanceID, PrivateIP, State, Version, Pool string
	Index                                       int
	Etcd, ControlPlane                          bool
}

// clusterServers lists the cluster's pending and running servers, the running first, then by
// node number: the order nodes join through them.
func (c *Client) clusterServers(ctx context.Context, cluster string) ([]server, error) {
	instances, err := c.describeInstances(ctx, []types.Filter{
		{Name: aws.String("tag:" + TagCluster), Values: []string{cluster}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}},
	})
	if err != nil {
		return nil, fmt.Errorf("finding the servers of cluster %s: %w", cluster, err)
	}
	var out []server
	for _, i := range instances {
		n := nodeOf(i)
		roles := RolesOf(n.Roles)
		if !roles.Etcd && !roles.ControlPlane {
			continue
		}
		out = append(out, server{InstanceID: n.InstanceID, PrivateIP: n.PrivateIP, State: n.State, Index: n.Index,
			Etcd: roles.Etcd, ControlPlane: roles.ControlPlane, Version: tagMap(i.Tags)[TagVersion], Pool: tagMap(i.Tags)[TagPool]})
	}
	slices.SortFunc(out, func(a, b server) int {
		if (a.State == "running") != (b.State == "running") {
			if a.State == "running" {
				return -1
			}
			return 1
		}
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return strings.Compare(a.InstanceID, b.InstanceID)
	})
	return out, nil
}

// initLocks holds one lock per cluster for the provider process: the launch that holds it and
// finds no server starts the cluster, so two etcd pools applied at once never start two.
// GOTCHA: applies of one cluster from separate states (processes) are not covered; the docs say
// they are unsupported.
var initLocks sync.Map

// lockCluster takes cluster's lock in locks (initLocks, etcdRemovals) and returns its unlock.
func lockCluster(locks *sync.Map, cluster string) func() {
	m, _ := locks.LoadOrStore(cluster, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// Servers follows, for one Terraform run (one provider instance), the server pools being
// reconciled and those that failed, per cluster, so that a pool waiting for a server to join
// through stops waiting once every server pool of the run has failed, instead of waiting out
// its timeout. A nil *Servers tracks nothing.
type Servers struct {
	mu       sync.Mutex
	clusters map[string]*serverPools
}

type serverPools struct {
	inFlight    int
	failures    []string
	lastFailure time.Time
}

// NewServers is an empty tracker.
func NewServers() *Servers { return &Servers{clusters: map[string]*serverPools{}} }

// begin records that a server pool of cluster is being reconciled; the returned func records
// how that ended.
func (s *Servers) begin(cluster string) func(pool string, err error) {
	if s == nil {
		return func(string, error) {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clusters[cluster]
	if c == nil {
		c = &serverPools{}
		s.clusters[cluster] = c
	}
	c.inFlight++
	return func(pool string, err error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c.inFlight--
		if err != nil {
			c.failures = append(c.failures, fmt.Sprintf("%s: %v", pool, err))
			c.lastFailure = time.Now()
		}
	}
}

// waiting records that a server pool of cluster waits for another server to join through, and
// so does not count as in flight (it cannot bring the server it waits for); the returned func
// records that it goes on.
func (s *Servers) waiting(cluster string) func() {
	if s == nil {
		return func() {}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clusters[cluster]
	if c == nil {
		return func() {}
	}
	c.inFlight--
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		c.inFlight++
	}
}

// allFailed says whether, for cluster, server pools of this run failed, none is still being
// reconciled, and that has been so for grace (another pool may be about to start); with the
// failures.
func (s *Servers) allFailed(cluster string, grace time.Duration) ([]string, bool) {
	if s == nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clusters[cluster]
	if c == nil || c.inFlight > 0 || len(c.failures) == 0 || time.Since(c.lastFailure) < grace {
		return nil, false
	}
	return slices.Clone(c.failures), true
}

// launchNodes launches count nodes of p from indexBase: when p runs etcd and the cluster has no
// etcd server, its first node alone starts the cluster (it alone gets the CA keys); every other
// node joins through a server found by tags, or the cluster's registration address.
func (c *Client) launchNodes(ctx context.Context, p Pool, hash string, sgIDs []string, count, indexBase int) ([]Node, error) {
	if p.PKI == nil {
		return nil, fmt.Errorf("cluster %s has no CA keys and tokens in the state (an imported cluster?): new nodes of %s cannot be bootstrapped; "+
			"create the cluster with Terraform, or keep its state", p.Cluster, p.ID())
	}
	var nodes []Node
	if p.Spec.Boot.Etcd() {
		first, err := c.startCluster(ctx, p, hash, sgIDs, indexBase)
		if err != nil {
			return nil, err
		}
		if first != nil {
			nodes = append(nodes, *first)
			count, indexBase = count-1, indexBase+1
		}
	}
	if count == 0 {
		return nodes, nil
	}
	via, err := c.joinAddress(ctx, p)
	if err != nil {
		return nodes, err
	}
	fresh, err := c.Launch(ctx, p, hash, sgIDs, count, p.launch(indexBase, false, via))
	return append(nodes, fresh...), err
}

// startCluster launches the node that starts the cluster, alone, if the cluster has no server
// yet; nil if it has an etcd server, an error if it has only control-plane servers (their etcd is
// gone). It holds the cluster's lock until the node runs, so that the
// next etcd launch finds it.
func (c *Client) startCluster(ctx context.Context, p Pool, hash string, sgIDs []string, indexBase int) (*Node, error) {
	unlock := lockCluster(&initLocks, p.Cluster)
	defer unlock()
	servers, err := c.clusterServers(ctx, p.Cluster)
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(servers, func(s server) bool { return s.Etcd }) {
		return nil, nil
	}
	if len(servers) > 0 {
		// Servers live, but no etcd server: the datastore is gone. A new etcd node cannot join
		// through them, and starting a cluster would put a second one beside them.
		var ids []string
		for _, s := range servers {
			ids = append(ids, s.InstanceID)
		}
		return nil, fmt.Errorf("cluster %s has control-plane servers (%s) but no etcd server pending or running: the etcd servers they joined "+
			"through are gone (terminated, or the node that started the cluster never ran), and a new etcd node would start a second cluster "+
			"beside them. If the cluster held data, restore etcd from a snapshot on a new etcd node (see the troubleshooting guide); "+
			"otherwise destroy the control-plane pools and apply again to start the cluster anew", p.Cluster, strings.Join(ids, ", "))
	}
	c.progress("starting the cluster", map[string]any{"pool": p.ID(), "index": indexBase})
	nodes, err := c.Launch(ctx, p, hash, sgIDs, 1, p.launch(indexBase, true, ""))
	if err != nil {
		return nil, fmt.Errorf("starting cluster %s: %w", p.Cluster, err)
	}
	return &nodes[0], nil
}

// launch is a Launch of p's nodes from indexBase: init, or joining through via.
func (p Pool) launch(indexBase int, init bool, via string) bootstrap.Launch {
	return bootstrap.Launch{IndexBase: indexBase, Init: init, Server: via, RegistrationAddress: p.RegistrationAddress,
		Secrets: p.PKI.SecretsFor(p.Spec.Boot, init)}
}

// joinAddress is what p's new nodes join through: the cluster's registration address, else the
// private address of a live server — an etcd server for servers, a control-plane server for
// agents (never an etcd-only node), the lowest node number first. Nodes always join over
// private addresses. Pools are applied in any order, so it waits (up to ctx's deadline) for
// such a server to exist; with a registration address too, so nodes never join a cluster that
// has no server. Agents also wait until every server runs at least their Kubernetes version
// (from the servers' tags): no kubelet is ever newer than its API server, so upgrades go
// servers first, whatever order Terraform applies the pools in.
func (c *Client) joinAddress(ctx context.Context, p Pool) (string, error) {
	want, what, flag := func(s server) bool { return s.ControlPlane }, "control-plane", "control_plane"
	if p.Spec.Boot.Server() {
		want, what, flag = func(s server) bool { return s.Etcd }, "etcd", "etcd"
	}
	version := p.Spec.Boot.KubernetesVersion
	if p.Spec.Boot.Server() {
		defer c.Servers.waiting(p.Cluster)()
	}
	var behind []string
	gaveUp := func(err error) error {
		if len(behind) > 0 {
			return fmt.Errorf("agents of %s run %s only once every server does; still older: %s (%w)", p.ID(), version, strings.Join(behind, ", "), err)
		}
		return fmt.Errorf("nodes of %s join the cluster through a %s server, and cluster %s has none pending or running: "+
			"give it a node pool with %s = true (pools of one apply wait for each other, up to the pool's timeout) (%w)",
			p.ID(), what, p.Cluster, flag, err)
	}
	for {
		servers, err := c.clusterServers(ctx, p.Cluster)
		if err != nil {
			if ctx.Err() != nil { // the wait ran out during a lookup
				return "", gaveUp(ctx.Err())
			}
			return "", err
		}
		behind = nil
		if !p.Spec.Boot.Server() {
			for _, s := range servers {
				if s.Version != "" && bootstrap.CompareVersions(p.Spec.Boot.Distribution, s.Version, version) < 0 {
					behind = append(behind, fmt.Sprintf("%s (%s)", s.InstanceID, s.Version))
				}
			}
		}
		i := slices.IndexFunc(servers, func(s server) bool { return want(s) && s.PrivateIP != "" })
		switch {
		case i >= 0 && len(behind) == 0 && p.RegistrationAddress != "":
			return p.RegistrationAddress, nil
		case i >= 0 && len(behind) == 0:
			return servers[i].PrivateIP, nil
		}
		if failed, ok := c.Servers.allFailed(p.Cluster, 5*c.poll()); ok && i < 0 {
			return "", fmt.Errorf("nodes of %s join the cluster through a %s server, and cluster %s has none: the server pools of this run failed (%s)",
				p.ID(), what, p.Cluster, strings.Join(failed, "; "))
		}
		c.progress("waiting for a server to join through", map[string]any{"pool": p.ID(), "role": what, "servers_behind": len(behind)})
		if err := sleep(ctx, c.poll()); err != nil {
			return "", gaveUp(err)
		}
	}
}

// etcdRemovals holds one lock per cluster: etcd nodes leave one at a time, across pools too, the
// next only once the previous one's member, instance and Node are gone.
var etcdRemovals sync.Map

// retire takes nodes out of the pool: with a Remover, one at a time, each prepared (drained, its
// etcd member removed), terminated, then forgotten by the API; without one, all terminated at
// once.
func (c *Client) retire(ctx context.Context, p Pool, nodes []Node) error {
	if p.Remover == nil {
		return c.TerminateAndWait(ctx, p.ID(), instanceIDs(nodes))
	}
	etcd := p.Spec.Boot.Etcd()
	// One at a time, newest first: the lowest number, which others join through, goes last.
	nodes = slices.Clone(nodes)
	slices.SortFunc(nodes, func(a, b Node) int { return b.Index - a.Index })
	for _, n := range nodes {
		if err := c.retireOne(ctx, p, n, etcd); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) retireOne(ctx context.Context, p Pool, n Node, etcd bool) error {
	if etcd {
		defer lockCluster(&etcdRemovals, p.Cluster)()
	}
	c.progress("taking the node out of the cluster", map[string]any{"pool": p.ID(), "node": n.Hostname, "etcd": etcd})
	if err := p.Remover.Prepare(ctx, n, etcd); err != nil {
		return fmt.Errorf("node %s (%s) cannot leave the cluster safely, so it is left running: %w", n.Hostname, n.InstanceID, err)
	}
	if err := c.TerminateAndWait(ctx, p.ID(), []string{n.InstanceID}); err != nil {
		return err
	}
	if err := p.Remover.Forget(ctx, n); err != nil {
		return fmt.Errorf("node %s (%s) is terminated, but its Node object stays: %w", n.Hostname, n.InstanceID, err)
	}
	return nil
}

// checkEtcdKept refuses to take an etcd pool to zero nodes while it holds the cluster: when no
// etcd server of another pool runs, its last node is the cluster.
func (c *Client) checkEtcdKept(ctx context.Context, p Pool, nodes []Node) error {
	if !p.Spec.Boot.Etcd() || p.Quantity > 0 || len(nodes) == 0 {
		return nil
	}
	servers, err := c.clusterServers(ctx, p.Cluster)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(servers, func(s server) bool { return s.Etcd && s.Pool != p.Name }) {
		return nil
	}
	return fmt.Errorf("node pool %s holds cluster %s's only etcd members: it cannot go to zero nodes (the cluster's data would be gone); "+
		"add etcd nodes in another pool first, or destroy the cluster", p.ID(), p.Cluster)
}

// ErrEtcdMembers is wrapped by errors refusing to replace or remove etcd nodes of a running
// cluster.
var ErrEtcdMembers = fmt.Errorf("etcd members would be left behind")

// CheckEtcdChange refuses, for a pool with the etcd role whose nodes cannot leave safely (no
// reachable API), a change that replaces or removes any: a leaving node's member would stay in
// etcd, and members left behind cost the quorum (a 3-node pool replaced three times has 6
// members, 3 alive). Adding etcd nodes is fine.
func CheckEtcdChange(pool string, etcd bool, replaced, removed int) error {
	// etcd: the pool has the etcd role and its nodes cannot be taken out of the cluster safely
	// (the cluster's API is not reachable).
	if !etcd || replaced+removed == 0 {
		return nil
	}
	var what []string
	if replaced > 0 {
		what = append(what, fmt.Sprintf("replace %d", replaced))
	}
	if removed > 0 {
		what = append(what, fmt.Sprintf("remove %d", removed))
	}
	return fmt.Errorf("node pool %s would %s of its etcd nodes: %w. Each leaving node's member stays in etcd until something removes it, "+
		"and a 3-node pool replaced three times ends with 6 members, 3 alive, and no quorum. Without the cluster's API the provider cannot remove members: "+
		"give the cluster an api_server_url (or registration_address) this runner reaches, or change etcd pools only by adding nodes "+
		"(keep the node template, the cluster's version and the quantity of this pool as they are)", pool, strings.Join(what, " and "), ErrEtcdMembers)
}
