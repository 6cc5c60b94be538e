package provisioning

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// Pool is a node pool as the provider wants it.
type Pool struct {
	Cluster        string
	Name           string
	HostnamePrefix string
	Quantity       int
	Roles          Roles
	// Spec is what the nodes are launched and booted with; its Hash is in every node's tags,
	// and a node whose hash differs is replaced.
	Spec NodeSpec
	// Groups is what the pool does to the managed security group.
	Groups GroupSettings
	// PKI is the cluster's CA set and tokens; each launch gets what its nodes' roles need.
	PKI *bootstrap.PKI
	// RegistrationAddress is the cluster's fixed address, if any: nodes join through it.
	RegistrationAddress string
	// PublicKey is the SSH public key the nodes get through the pool's key pair; empty: no key
	// pair (nodes boot from user data and need no SSH).
	PublicKey string
	// NextIndex is the lowest index a new node may take: one past every index the pool ever
	// used, so a name is never given to a second machine (etcd members and Kubernetes nodes
	// of removed machines may linger). 1 when zero.
	NextIndex int
	// Remover, when the cluster's API is reachable, takes a node out of the cluster before its
	// instance goes and forgets it after; nil: nodes are terminated as they are, and nodes of an
	// etcd pool are not replaced or removed at all (their members would stay in etcd).
	Remover Remover
}

// Remover takes nodes out of the cluster through its API: the provider's drains them and, for
// etcd nodes, has the distribution remove their member (kubeapi).
type Remover interface {
	// Prepare readies node n to go: cordoned, drained, and its etcd member removed when etcd.
	Prepare(ctx context.Context, n Node, etcd bool) error
	// Forget deletes n's Node object once its instance is gone (deleted while its kubelet
	// runs, it would register again).
	Forget(ctx context.Context, n Node) error
}

// ID is how the pool is named in its tags, errors and Terraform: "<cluster>/<pool>".
func (p Pool) ID() string { return p.Cluster + "/" + p.Name }

// KeyPairName is the name of the pool's key pair, when it has one.
func KeyPairName(cluster, pool string) string { return "ec2k8s-" + cluster + "-" + pool }

// TopologyWarnings are the seed's advice on a pool that works but is not for production.
func TopologyWarnings(r Roles, quantity int64) []string {
	var w []string
	if roles := r.List(); len(roles) > 1 {
		w = append(w, fmt.Sprintf("This pool's nodes are %s at once. That works, but is not for production: give each role its own pool (etcd ×3, control plane ×2, workers ×2 or more).", strings.Join(roles, " and ")))
	}
	if r.Etcd && quantity > 0 && quantity%2 == 0 {
		w = append(w, fmt.Sprintf("%d etcd nodes tolerate no more failures than %d: etcd needs a majority, so use an odd number (3 or 5).", quantity, quantity-1))
	}
	return w
}

// Node is one instance of a pool, as EC2 reports it.
type Node struct {
	InstanceID     string
	Index          int
	Hostname       string
	HostnamePrefix string
	// Name is the instance's Name tag as found; the pool keeps it equal to Hostname.
	Name      string
	Roles     []string
	PrivateIP string
	PublicIP  string
	State     string
	Spec      string
	KeyName   string
	// attached are the node's volumes and network interfaces, named with it.
	attached []string
}

// liveStates are the instance states that count as a pool's nodes.
var liveStates = []string{"pending", "running", "stopping", "stopped"}

// ReadPool returns the live nodes of a pool, sorted by index, with one filtered, paginated
// DescribeInstances (a page holds up to 1,000 instances).
func (c *Client) ReadPool(ctx context.Context, cluster, pool string) ([]Node, error) {
	instances, err := c.describeInstances(ctx, []types.Filter{
		{Name: aws.String("tag:" + TagCluster), Values: []string{cluster}},
		{Name: aws.String("tag:" + TagPool), Values: []string{pool}},
		{Name: aws.String("instance-state-name"), Values: liveStates},
	})
	if err != nil {
		return nil, fmt.Errorf("reading node pool %s/%s: %w", cluster, pool, err)
	}
	nodes := make([]Node, 0, len(instances))
	for _, i := range instances {
		nodes = append(nodes, nodeOf(i))
	}
	sortNodes(nodes)
	return nodes, nil
}

// nodeOf converts an EC2 instance. Its name comes from the prefix and index tags, never from
// Name.
func nodeOf(i types.Instance) Node {
	tags := tagMap(i.Tags)
	base, _ := strconv.Atoi(tags[TagIndexBase])
	n := Node{
		InstanceID:     aws.ToString(i.InstanceId),
		Index:          base + int(aws.ToInt32(i.AmiLaunchIndex)),
		HostnamePrefix: tags[TagHostnamePrefix],
		Name:           tags[TagName],
		PrivateIP:      aws.ToString(i.PrivateIpAddress),
		PublicIP:       aws.ToString(i.PublicIpAddress),
		Spec:           tags[TagSpec],
		KeyName:        aws.ToString(i.KeyName),
	}
	n.Hostname = n.HostnamePrefix + strconv.Itoa(n.Index)
	if i.State != nil {
		n.State = string(i.State.Name)
	}
	if r := tags[TagRoles]; r != "" {
		n.Roles = strings.Split(r, ",")
	}
	// Named with the node: its root volume and primary network interface, which the launch
	// made; never a volume or interface attached later (CSI, CNI), which have names of their own.
	for _, bd := range i.BlockDeviceMappings {
		if bd.Ebs != nil && aws.ToString(bd.Ebs.VolumeId) != "" && aws.ToString(bd.DeviceName) == aws.ToString(i.RootDeviceName) {
			n.attached = append(n.attached, aws.ToString(bd.Ebs.VolumeId))
		}
	}
	for _, ni := range i.NetworkInterfaces {
		if id := aws.ToString(ni.NetworkInterfaceId); id != "" && ni.Attachment != nil && aws.ToInt32(ni.Attachment.DeviceIndex) == 0 {
			n.attached = append(n.attached, id)
		}
	}
	return n
}

func sortNodes(nodes []Node) {
	slices.SortFunc(nodes, func(a, b Node) int {
		if a.Index != b.Index {
			return a.Index - b.Index
		}
		return strings.Compare(a.InstanceID, b.InstanceID)
	})
}

// Outcome is what a Reconcile made of a pool.
type Outcome struct {
	// Nodes are the pool's nodes, by index.
	Nodes []Node
	// Next is the pool's next free index, which only grows; set even when Reconcile fails.
	Next int
	// Warnings are failures that leave the pool working, such as a node that could not be
	// named: the next Reconcile retries them.
	Warnings []error
	// Launched says a RunInstances was sent: instances may exist even when Reconcile failed.
	Launched bool
}

// Reconcile makes EC2 match p, starting from the nodes it has now (which also adopts the
// nodes of an interrupted earlier run, as they are): it removes surplus nodes, newest first, so
// the node others join through (the lowest index) goes last; replaces nodes of another spec one
// at a time, new before old; launches what is missing in one RunInstances; and names every node
// whose Name tag is missing or wrong.
func (c *Client) Reconcile(ctx context.Context, p Pool, current []Node) (out Outcome, err error) {
	if p.Spec.Boot.Server() {
		done := c.Servers.begin(p.Cluster)
		defer func() { done(p.ID(), err) }()
	}
	out = Outcome{Next: NextIndex(p.NextIndex, current)}
	hash, err := p.Spec.Hash()
	if err != nil {
		return out, err
	}
	// Before anything is made: the largest user data the pool's nodes can get must fit.
	if err := p.Spec.CheckUserData(); err != nil {
		return out, fmt.Errorf("node pool %s: %w", p.ID(), err)
	}
	sgIDs, err := c.EnsureSecurityGroups(ctx, p)
	if err != nil {
		return out, err
	}
	if err := c.EnsureKeyPair(ctx, p); err != nil {
		return out, err
	}
	nodes, err := c.settle(ctx, p.ID(), current)
	if err != nil {
		return out, err
	}

	replaced, removed := leaving(p, hash, nodes)
	if err := CheckEtcdChange(p.ID(), p.Spec.Boot.Etcd() && p.Remover == nil, replaced, removed); err != nil {
		return out, err
	}
	if err := c.checkEtcdKept(ctx, p, nodes); err != nil {
		return out, err
	}

	if surplus := len(nodes) - p.Quantity; surplus > 0 {
		// Nodes of another spec go first (a run killed during a roll leaves old and new nodes),
		// then the newest: the lowest index, which others join through, goes last.
		slices.SortStableFunc(nodes, func(a, b Node) int {
			if (a.Spec == hash) != (b.Spec == hash) {
				if a.Spec == hash {
					return -1
				}
				return 1
			}
			return a.Index - b.Index
		})
		remove := nodes[len(nodes)-surplus:]
		c.progress("scaling node pool down", map[string]any{"pool": p.ID(), "remove": len(remove), "to": p.Quantity})
		if err := c.retire(ctx, p, remove); err != nil {
			return out, err
		}
		nodes = nodes[:len(nodes)-surplus]
		sortNodes(nodes)
	}

	for i := range nodes {
		if nodes[i].Spec == hash {
			continue
		}
		old := nodes[i]
		c.progress("replacing node", map[string]any{"pool": p.ID(), "instance_id": old.InstanceID, "hostname": old.Hostname})
		fresh, err := c.launchNodes(ctx, p, hash, sgIDs, 1, out.Next)
		out.Next++
		out.Launched = true
		if err != nil {
			return out, fmt.Errorf("replacing %s (%s): %w", old.Hostname, old.InstanceID, err)
		}
		if err := c.retire(ctx, p, []Node{old}); err != nil {
			return out, err
		}
		nodes[i] = fresh[0]
	}

	if missing := p.Quantity - len(nodes); missing > 0 {
		c.progress("launching nodes", map[string]any{"pool": p.ID(), "count": missing})
		fresh, err := c.launchNodes(ctx, p, hash, sgIDs, missing, out.Next)
		out.Next += missing
		out.Launched = true
		nodes = append(nodes, fresh...)
		if err != nil {
			return out, err
		}
	}
	sortNodes(nodes)
	out.Warnings = c.nameNodes(ctx, p.ID(), nodes)
	out.Nodes = nodes
	return out, nil
}

// settle waits until the pending nodes among current run (the adopted instances of a run killed
// right after its launch), so they are recorded and named with their addresses and volumes.
func (c *Client) settle(ctx context.Context, pool string, current []Node) ([]Node, error) {
	nodes := slices.Clone(current)
	sortNodes(nodes)
	var pending []string
	for _, n := range nodes {
		if n.State == "pending" {
			pending = append(pending, n.InstanceID)
		}
	}
	if len(pending) == 0 {
		return nodes, nil
	}
	c.progress("waiting for pending nodes", map[string]any{"pool": pool, "count": len(pending)})
	running, err := c.waitRunning(ctx, pool, pending)
	if err != nil {
		return nil, err
	}
	byID := map[string]Node{}
	for _, i := range running {
		byID[aws.ToString(i.InstanceId)] = nodeOf(i)
	}
	for i, n := range nodes {
		if fresh, ok := byID[n.InstanceID]; ok {
			nodes[i] = fresh
		}
	}
	return nodes, nil
}

// NextIndex is the next free node index: at least floor (1 when zero) and past every node's.
func NextIndex(floor int, nodes []Node) int {
	next := max(floor, 1)
	for _, n := range nodes {
		next = max(next, n.Index+1)
	}
	return next
}

func instanceIDs(nodes []Node) []string {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.InstanceID
	}
	return ids
}

// DeletePool terminates every node of the pool, waits until they are gone, and deletes the
// pool's key pair, if any. The managed security group stays, as in Rancher.
func (c *Client) DeletePool(ctx context.Context, cluster, pool string) error {
	nodes, err := c.ReadPool(ctx, cluster, pool)
	if err != nil {
		return err
	}
	if len(nodes) > 0 {
		id := cluster + "/" + pool
		c.progress("terminating node pool", map[string]any{"pool": id, "count": len(nodes)})
		if err := c.TerminateAndWait(ctx, id, instanceIDs(nodes)); err != nil {
			return err
		}
	}
	return c.DeleteKeyPair(ctx, KeyPairName(cluster, pool))
}

// Leaving counts the nodes reconciling p from current takes away: nodes of another spec it
// replaces (at most its quantity) and surplus nodes it removes. A caller that can take nodes out
// of the cluster first (a Remover) needs one only when the sum is not zero.
func Leaving(p Pool, current []Node) (replaced, removed int, err error) {
	hash, err := p.Spec.Hash()
	if err != nil {
		return 0, 0, err
	}
	replaced, removed = leaving(p, hash, current)
	return replaced, removed, nil
}

// leaving is Leaving with the hash known. Surplus nodes of another spec go first (Reconcile's
// order), so only those that remain are replaced.
func leaving(p Pool, hash string, nodes []Node) (replaced, removed int) {
	others := 0
	for _, n := range nodes {
		if n.Spec != hash {
			others++
		}
	}
	removed = max(len(nodes)-p.Quantity, 0)
	return min(max(others-removed, 0), p.Quantity), removed
}
