package provisioning

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Tags the provider sets on everything a node pool makes. EC2 is the source of truth: a pool is
// found again from these.
const (
	TagCluster   = "ec2k8s:cluster"
	TagPool      = "ec2k8s:pool"
	TagRoles     = "ec2k8s:roles"
	TagSpec      = "ec2k8s:spec"
	TagIndexBase = "ec2k8s:index-base"
	TagLaunch    = "ec2k8s:launch"
)

// ClusterTag is the tag Kubernetes' AWS integrations use to find a cluster's resources.
func ClusterTag(cluster string) string { return "kubernetes.io/cluster/" + cluster }

// Roles are the Kubernetes roles of a pool's nodes.
type Roles struct {
	Etcd, ControlPlane, Worker bool
}

// List returns the roles in a fixed order.
func (r Roles) List() []string {
	var out []string
	if r.Etcd {
		out = append(out, "etcd")
	}
	if r.ControlPlane {
		out = append(out, "controlplane")
	}
	if r.Worker {
		out = append(out, "worker")
	}
	return out
}

// LaunchSpec is how a pool's instances are launched: the node template, resolved.
type LaunchSpec struct {
	Region                string
	AvailabilityZone      string
	VPCID                 string
	SubnetID              string
	SecurityGroups        []string // names or IDs
	SecurityGroupReadonly bool
	OpenPorts             []string
	SSHCIDRBlocks         []string
	AMI                   string
	InstanceType          string
	RootSize              int64
	VolumeType            string
	Encrypted             bool
	KMSKeyID              string
	IAMInstanceProfile    string
	PrivateAddressOnly    bool
	SpotInstance          bool
	SpotPrice             float64
	Monitoring            bool
	EBSOptimized          bool
	HTTPTokens            string
	HopLimit              int64
	Tags                  map[string]string
}

// Pool is a node pool as the provider wants it.
type Pool struct {
	Cluster        string
	Name           string
	HostnamePrefix string
	Quantity       int
	Roles          Roles
	Launch         LaunchSpec
	// Spec identifies everything that needs new machines when it changes (see SpecHash).
	Spec string
	// UserData renders the user data of the nodes of one launch, whose names start at indexBase.
	UserData    func(indexBase int) ([]byte, error)
	KeyPairName string
	PublicKey   string
	// NextIndex is the lowest index a new node may take: one past every index the pool ever
	// used, so a name is never given to a second machine (etcd members and Kubernetes nodes
	// of removed machines may linger). 1 when zero.
	NextIndex int
}

// ID is how the pool is named in its tags, errors and Terraform: "<cluster>/<pool>".
func (p Pool) ID() string { return p.Cluster + "/" + p.Name }

// SpecHash returns a short stable hash of v (anything JSON-encodable): the pool's spec tag.
func SpecHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hashing node spec: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16], nil
}

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
	Roles          []string
	PrivateIP      string
	PublicIP       string
	State          string
	Spec           string
}

// Client is the provisioning client for one region. Every EC2 call it makes is in EC2API.
type Client struct {
	EC2 EC2API
	// Poll is how often waits ask EC2; 2s when zero.
	Poll time.Duration
	// Progress reports what the client does, for the provider's log; may be nil.
	Progress func(msg string, fields map[string]any)
}

func (c *Client) progress(msg string, fields map[string]any) {
	if c.Progress != nil {
		c.Progress(msg, fields)
	}
}

func (c *Client) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return 2 * time.Second
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// liveStates are the instance states that count as a pool's nodes.
var liveStates = []string{"pending", "running", "stopping", "stopped"}

// ReadPool returns the live nodes of a pool, sorted by index, with one filtered, paginated
// DescribeInstances (a page holds up to 1,000 instances).
func (c *Client) ReadPool(ctx context.Context, cluster, pool string) ([]Node, error) {
	in := &ec2.DescribeInstancesInput{
		Filters: []types.Filter{
			{Name: aws.String("tag:" + TagCluster), Values: []string{cluster}},
			{Name: aws.String("tag:" + TagPool), Values: []string{pool}},
			{Name: aws.String("instance-state-name"), Values: liveStates},
		},
		MaxResults: aws.Int32(1000),
	}
	var nodes []Node
	p := ec2.NewDescribeInstancesPaginator(c.EC2, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading node pool %s/%s: %w", cluster, pool, err)
		}
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				nodes = append(nodes, nodeOf(i, ""))
			}
		}
	}
	sortNodes(nodes)
	return nodes, nil
}

// nodeOf converts an EC2 instance; prefix overrides the hostname prefix when not empty.
func nodeOf(i types.Instance, prefix string) Node {
	tags := map[string]string{}
	for _, t := range i.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	base, _ := strconv.Atoi(tags[TagIndexBase])
	n := Node{
		InstanceID: aws.ToString(i.InstanceId),
		Index:      base + int(aws.ToInt32(i.AmiLaunchIndex)),
		PrivateIP:  aws.ToString(i.PrivateIpAddress),
		PublicIP:   aws.ToString(i.PublicIpAddress),
		Spec:       tags[TagSpec],
	}
	if i.State != nil {
		n.State = string(i.State.Name)
	}
	if prefix == "" {
		prefix = tags["Name"]
	}
	n.HostnamePrefix = prefix
	n.Hostname = prefix + strconv.Itoa(n.Index)
	if r := tags[TagRoles]; r != "" {
		n.Roles = strings.Split(r, ",")
	}
	return n
}

func sortNodes(nodes []Node) {
	sort.Slice(nodes, func(i, j int) bool {
		if nodes[i].Index != nodes[j].Index {
			return nodes[i].Index < nodes[j].Index
		}
		return nodes[i].InstanceID < nodes[j].InstanceID
	})
}

// Reconcile makes EC2 match p, starting from the nodes it has now: it removes surplus nodes,
// newest first, so the node others join through (the lowest index) goes last; replaces nodes of
// another spec one at a time, new before old; and launches what is missing in one RunInstances.
// It returns the nodes and the pool's next free index, which only grows.
func (c *Client) Reconcile(ctx context.Context, p Pool, current []Node) ([]Node, int, error) {
	next := NextIndex(p.NextIndex, current)
	sgIDs, err := c.EnsureSecurityGroups(ctx, p)
	if err != nil {
		return nil, next, err
	}
	if err := c.EnsureKeyPair(ctx, p); err != nil {
		return nil, next, err
	}
	nodes := append([]Node(nil), current...)
	sortNodes(nodes)

	if surplus := len(nodes) - p.Quantity; surplus > 0 {
		remove := nodes[len(nodes)-surplus:]
		c.progress("scaling node pool down", map[string]any{"pool": p.ID(), "remove": len(remove), "to": p.Quantity})
		if err := c.TerminateAndWait(ctx, p.ID(), instanceIDs(remove)); err != nil {
			return nil, next, err
		}
		nodes = nodes[:len(nodes)-surplus]
	}

	for i := range nodes {
		if nodes[i].Spec == p.Spec {
			continue
		}
		old := nodes[i]
		c.progress("replacing node", map[string]any{"pool": p.ID(), "instance_id": old.InstanceID, "hostname": old.Hostname})
		fresh, err := c.Launch(ctx, p, sgIDs, 1, next)
		if err != nil {
			return nil, next, fmt.Errorf("replacing %s: %w", old.InstanceID, err)
		}
		next++
		if err := c.TerminateAndWait(ctx, p.ID(), []string{old.InstanceID}); err != nil {
			return nil, next, err
		}
		nodes[i] = fresh[0]
	}

	if missing := p.Quantity - len(nodes); missing > 0 {
		c.progress("launching nodes", map[string]any{"pool": p.ID(), "count": missing})
		fresh, err := c.Launch(ctx, p, sgIDs, missing, next)
		if err != nil {
			return nil, next, err
		}
		next += missing
		nodes = append(nodes, fresh...)
	}
	sortNodes(nodes)
	return nodes, next, nil
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
// pool's key pair. The managed security group stays, as in Rancher.
func (c *Client) DeletePool(ctx context.Context, p Pool) error {
	nodes, err := c.ReadPool(ctx, p.Cluster, p.Name)
	if err != nil {
		return err
	}
	if len(nodes) > 0 {
		c.progress("terminating node pool", map[string]any{"pool": p.ID(), "count": len(nodes)})
		if err := c.TerminateAndWait(ctx, p.ID(), instanceIDs(nodes)); err != nil {
			return err
		}
	}
	if p.KeyPairName != "" {
		return c.DeleteKeyPair(ctx, p.KeyPairName)
	}
	return nil
}

// DeleteKeyPair deletes a key pair; one already gone is fine.
func (c *Client) DeleteKeyPair(ctx context.Context, name string) error {
	if _, err := c.EC2.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String(name)}); err != nil && !isCode(err, "InvalidKeyPair.NotFound") {
		return fmt.Errorf("deleting key pair %s: %w", name, err)
	}
	return nil
}

// TerminateAndWait terminates instances and waits until EC2 reports them terminated.
func (c *Client) TerminateAndWait(ctx context.Context, pool string, ids []string) error {
	for _, chunk := range chunks(ids, 1000) {
		_, err := c.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: chunk})
		if err != nil && !isCode(err, "InvalidInstanceID.NotFound") {
			// A retry of a termination whose answer was lost can fail although the first
			// attempt worked: what counts is whether the nodes are on their way out.
			if live, derr := c.liveOf(ctx, chunk); derr != nil || len(live) > 0 {
				return fmt.Errorf("terminating %d nodes of %s: %w", len(chunk), pool, err)
			}
		}
	}
	_, err := c.waitStates(ctx, pool, ids, func(state string) (bool, error) { return state == "terminated", nil }, true)
	return err
}

// liveOf returns those of ids that are not shutting down or terminated.
func (c *Client) liveOf(ctx context.Context, ids []string) ([]string, error) {
	return c.liveIDs(ctx, types.Filter{Name: aws.String("instance-id"), Values: ids})
}

// liveIDs returns the IDs of the live instances that match f.
func (c *Client) liveIDs(ctx context.Context, f types.Filter) ([]string, error) {
	out, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		f, {Name: aws.String("instance-state-name"), Values: liveStates},
	}})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
	}
	return ids, nil
}

func chunks(ids []string, n int) [][]string {
	var out [][]string
	for len(ids) > n {
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

// waitStates polls DescribeInstances, one call per 1,000 instances, until done says every
// instance is where it should be. It filters by instance-id rather than naming IDs, so an
// instance EC2 does not know yet (right after launch) or no more (long terminated) is simply
// absent instead of failing the call: absent counts as done when goneIsDone, else as pending.
func (c *Client) waitStates(ctx context.Context, pool string, ids []string, done func(state string) (bool, error), goneIsDone bool) ([]types.Instance, error) {
	pending := append([]string(nil), ids...)
	var finished []types.Instance
	for {
		var still []string
		for _, chunk := range chunks(pending, 1000) {
			out, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
				Filters: []types.Filter{{Name: aws.String("instance-id"), Values: chunk}},
			})
			if err != nil {
				return nil, fmt.Errorf("waiting for nodes of %s: %w", pool, err)
			}
			seen := map[string]bool{}
			for _, r := range out.Reservations {
				for _, i := range r.Instances {
					id := aws.ToString(i.InstanceId)
					seen[id] = true
					state := ""
					if i.State != nil {
						state = string(i.State.Name)
					}
					ok, err := done(state)
					if err != nil {
						return nil, fmt.Errorf("node %s of %s: %w", id, pool, err)
					}
					if ok {
						finished = append(finished, i)
					} else {
						still = append(still, id)
					}
				}
			}
			for _, id := range chunk {
				if !seen[id] && !goneIsDone {
					still = append(still, id)
				}
			}
		}
		if len(still) == 0 {
			return finished, nil
		}
		pending = still
		if err := sleep(ctx, c.poll()); err != nil {
			return nil, fmt.Errorf("waiting for %d nodes of %s (%s): %w", len(still), pool, strings.Join(still[:min(3, len(still))], ", "), err)
		}
	}
}
