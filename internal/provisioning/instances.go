package provisioning

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// Limits of the EC2 API the client keeps to.
const (
	// maxFilterValues is how many values EC2 takes in the filters of one Describe call
	// (FilterLimitExceeded beyond: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
	maxFilterValues = 200
	// maxTerminate is how many instance IDs one TerminateInstances takes.
	maxTerminate = 1000
	// maxLaunchAttempts bounds the client's own retries of RunInstances (see Launch).
	maxLaunchAttempts = 8
)

// launchNotYet are RunInstances errors that pass by themselves right after the pool made its
// security group or key pair (EC2's eventual consistency).
var launchNotYet = []string{codeGroupNotFound, codeKeyPairNotFound}

// capacityCodes are launch errors that will not pass by retrying at once: the user must choose
// (wait, another zone or type, a quota).
var capacityCodes = []string{codeInsufficientCapacity, codeInsufficientCapacityAlt, codeInstanceLimitExceeded,
	codeVcpuLimitExceeded, codeMaxSpotInstanceCount, codeSpotMaxPriceTooLow}

// Launch starts count nodes of p in one RunInstances call, named from l.IndexBase on and booted
// as l says (init or join, and their secrets), and waits until all run.
//
// GOTCHA: RunInstances is not safe to retry blindly: a request that reached EC2 but whose answer
// was lost launches instances that a retry would launch again. The call carries an idempotency
// ClientToken, which EC2 honours, and its instances are tagged at creation with that token
// (ec2k8s:launch). The SDK's own retries are off for this call; before each retry the client
// looks for instances with the token's tag and adopts them, so no emulator or edge case can
// double a pool.
func (c *Client) Launch(ctx context.Context, p Pool, hash string, sgIDs []string, count int, l bootstrap.Launch) ([]Node, error) {
	in, token, err := c.runInput(ctx, p, hash, sgIDs, count, l)
	if err != nil {
		return nil, err
	}
	var ids []string
	for attempt := 1; ; attempt++ {
		out, err := c.EC2.RunInstances(ctx, in, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
		if err == nil {
			for _, i := range out.Instances {
				ids = append(ids, aws.ToString(i.InstanceId))
			}
			break
		}
		if adopted, aerr := c.launched(ctx, token); aerr == nil && len(adopted) > 0 {
			ids = adopted
			break
		}
		again := slices.Contains(launchNotYet, errorCode(err)) || (retryable(err) && !slices.Contains(capacityCodes, errorCode(err)))
		if !again || attempt >= maxLaunchAttempts {
			return nil, launchError(p, count, err)
		}
		c.progress("retrying launch", map[string]any{"pool": p.ID(), "attempt": attempt, "error": errorCode(err)})
		if err := sleep(ctx, c.retry().backoff(attempt)); err != nil {
			return nil, fmt.Errorf("launching %d nodes of %s: %w", count, p.ID(), err)
		}
	}
	c.progress("launched nodes, waiting until they run", map[string]any{"pool": p.ID(), "count": len(ids)})
	running, err := c.waitRunning(ctx, p.ID(), ids)
	if err != nil {
		return nil, err
	}
	// The last poll saw every node running, with its addresses: no further Describe call.
	nodes := make([]Node, 0, len(running))
	for _, i := range running {
		nodes = append(nodes, nodeOf(i))
	}
	sortNodes(nodes)
	return nodes, nil
}

func launchError(p Pool, count int, err error) error {
	l := p.Spec.Launch
	switch errorCode(err) {
	case codeInsufficientCapacity, codeInsufficientCapacityAlt:
		return fmt.Errorf("EC2 has no capacity for %d %s instances in %s now (%w); nothing was launched: retry later, or use another zone or instance type", count, l.InstanceType, l.AvailabilityZone, err)
	case codeInstanceLimitExceeded, codeVcpuLimitExceeded:
		return fmt.Errorf("launching %d nodes of %s would exceed the account's EC2 limits (%w); nothing was launched: raise the quota or lower quantity", count, p.ID(), err)
	case codeGroupNotFound, codeKeyPairNotFound:
		return fmt.Errorf("launching %d nodes of %s: EC2 still does not know the pool's security group or key pair after %d attempts (%w); nothing was launched: apply again", count, p.ID(), maxLaunchAttempts, err)
	}
	return fmt.Errorf("launching %d nodes of %s: %w", count, p.ID(), err)
}

// launched returns the live instances a launch with this token already made.
func (c *Client) launched(ctx context.Context, token string) ([]string, error) {
	instances, err := c.describeInstances(ctx, []types.Filter{
		{Name: aws.String("tag:" + TagLaunch), Values: []string{token}},
		{Name: aws.String("instance-state-name"), Values: liveStates},
	})
	return instancesIDs(instances), err
}

// runInput builds the RunInstances request and its idempotency token.
func (c *Client) runInput(ctx context.Context, p Pool, hash string, sgIDs []string, count int, boot bootstrap.Launch) (*ec2.RunInstancesInput, string, error) {
	l, indexBase := p.Spec.Launch, boot.IndexBase
	userData, compressed, err := p.Spec.UserData(boot)
	if err != nil {
		return nil, "", fmt.Errorf("node pool %s: %w", p.ID(), err)
	}
	if compressed {
		c.progress("user data gzip-compressed to fit EC2's 16 KiB", map[string]any{"pool": p.ID(), "bytes": len(userData)})
	}
	// A nonce per launch: retries of this launch share the token; a later launch with the same
	// pool, spec and indices (after a pool was deleted and made again) must not get the old
	// instances back from EC2's idempotency window.
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("making a launch token: %w", err)
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{p.ID(), hash, strconv.Itoa(indexBase), strconv.Itoa(count), hex.EncodeToString(nonce)}, "|")))
	token := hex.EncodeToString(sum[:])[:32]
	root, err := c.rootDevice(ctx, l.AMI)
	if err != nil {
		return nil, "", err
	}
	tags := ec2Tags(launchTags(p, hash, token, count, indexBase))
	in := &ec2.RunInstancesInput{
		ImageId:      aws.String(l.AMI),
		InstanceType: types.InstanceType(l.InstanceType),
		MinCount:     aws.Int32(int32(count)),
		MaxCount:     aws.Int32(int32(count)),
		ClientToken:  aws.String(token),
		UserData:     aws.String(base64.StdEncoding.EncodeToString(userData)),
		NetworkInterfaces: []types.InstanceNetworkInterfaceSpecification{{
			DeviceIndex:              aws.Int32(0),
			SubnetId:                 aws.String(l.SubnetID),
			Groups:                   sgIDs,
			AssociatePublicIpAddress: aws.Bool(!l.PrivateAddressOnly),
			DeleteOnTermination:      aws.Bool(true),
		}},
		BlockDeviceMappings: []types.BlockDeviceMapping{{
			DeviceName: aws.String(root),
			Ebs: &types.EbsBlockDevice{
				VolumeSize:          aws.Int32(int32(l.RootSize)),
				VolumeType:          types.VolumeType(l.VolumeType),
				Encrypted:           aws.Bool(l.Encrypted),
				DeleteOnTermination: aws.Bool(true),
			},
		}},
		MetadataOptions: &types.InstanceMetadataOptionsRequest{
			HttpEndpoint:            types.InstanceMetadataEndpointStateEnabled,
			HttpTokens:              types.HttpTokensState(l.HTTPTokens),
			HttpPutResponseHopLimit: aws.Int32(int32(l.HopLimit)),
			// Explicitly off, whatever the account's default: with tags in the metadata EC2
			// refuses every tag key with a '/' or a space, kubernetes.io/cluster/<name> first
			// (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/work-with-tags-in-IMDS.html).
			// Nodes read only their ami-launch-index.
			InstanceMetadataTags: types.InstanceMetadataTagsStateDisabled,
		},
		Monitoring:   &types.RunInstancesMonitoringEnabled{Enabled: aws.Bool(l.Monitoring)},
		EbsOptimized: aws.Bool(l.EBSOptimized),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: tags},
			{ResourceType: types.ResourceTypeVolume, Tags: tags},
			{ResourceType: types.ResourceTypeNetworkInterface, Tags: tags},
		},
	}
	if p.PublicKey != "" {
		in.KeyName = aws.String(KeyPairName(p.Cluster, p.Name))
	}
	if l.KMSKeyID != "" {
		in.BlockDeviceMappings[0].Ebs.KmsKeyId = aws.String(l.KMSKeyID)
	}
	if l.IAMInstanceProfile != "" {
		if strings.HasPrefix(l.IAMInstanceProfile, "arn:") {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Arn: aws.String(l.IAMInstanceProfile)}
		} else {
			in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: aws.String(l.IAMInstanceProfile)}
		}
	}
	if l.SpotInstance {
		spot := &types.SpotMarketOptions{SpotInstanceType: types.SpotInstanceTypeOneTime, InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorTerminate}
		if l.SpotPrice > 0 {
			spot.MaxPrice = aws.String(strconv.FormatFloat(l.SpotPrice, 'f', -1, 64))
		}
		in.InstanceMarketOptions = &types.InstanceMarketOptionsRequest{MarketType: types.MarketTypeSpot, SpotOptions: spot}
	}
	return in, token, nil
}

// rootDevice asks EC2 for the AMI's root device name, which the root volume settings must use.
func (c *Client) rootDevice(ctx context.Context, ami string) (string, error) {
	img, err := describeImage(ctx, c.EC2, ami)
	if err != nil {
		return "", err
	}
	if img == nil {
		return "", fmt.Errorf("AMI %s no longer exists: change the node template's ami, or let it resolve a new one", ami)
	}
	if d := aws.ToString(img.RootDeviceName); d != "" {
		return d, nil
	}
	return "/dev/sda1", nil
}

// waitRunning waits until every instance runs. An instance that ends instead (pending →
// terminated) fails the wait with the reason EC2 gives for it, such as a KMS key the
// credential cannot use.
func (c *Client) waitRunning(ctx context.Context, pool string, ids []string) ([]types.Instance, error) {
	return c.waitStates(ctx, pool, ids, false, func(i types.Instance) (bool, error) {
		switch state := instanceState(i); state {
		case "running":
			return true, nil
		case "shutting-down", "terminated", "stopping", "stopped":
			reason := "EC2 gave no reason"
			if r := i.StateReason; r != nil {
				reason = aws.ToString(r.Code) + ": " + aws.ToString(r.Message)
			} else if s := aws.ToString(i.StateTransitionReason); s != "" {
				reason = s
			}
			return false, fmt.Errorf("%s went from pending to %s: %s", aws.ToString(i.InstanceId), state, reason)
		default:
			return false, nil
		}
	})
}

func instanceState(i types.Instance) string {
	if i.State == nil {
		return ""
	}
	return string(i.State.Name)
}

// waitStates polls DescribeInstances, one call per 200 instances, until done says every
// instance is where it should be. It filters by instance-id rather than naming IDs, so an
// instance EC2 does not know yet (right after launch) or no more (long terminated) is simply
// absent instead of failing the call: absent counts as done when goneIsDone, else as pending.
// Every instance that done fails is reported, not only the first.
func (c *Client) waitStates(ctx context.Context, pool string, ids []string, goneIsDone bool, done func(types.Instance) (bool, error)) ([]types.Instance, error) {
	pending := slices.Clone(ids)
	var finished []types.Instance
	for {
		instances, err := c.describeIDs(ctx, pending)
		if err != nil {
			return nil, fmt.Errorf("waiting for nodes of %s: %w", pool, err)
		}
		seen := map[string]bool{}
		var still []string
		var failed []error
		for _, i := range instances {
			id := aws.ToString(i.InstanceId)
			seen[id] = true
			ok, err := done(i)
			switch {
			case err != nil:
				failed = append(failed, err)
			case ok:
				finished = append(finished, i)
			default:
				still = append(still, id)
			}
		}
		if len(failed) > 0 {
			return nil, fmt.Errorf("nodes of %s failed: %w", pool, errors.Join(failed...))
		}
		for _, id := range pending {
			if !seen[id] && !goneIsDone {
				still = append(still, id)
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

// TerminateAndWait terminates instances and waits until EC2 reports them terminated.
//
// GOTCHA: one ID EC2 does not know fails the whole TerminateInstances call, and then EC2
// terminates none of its IDs; and right after a launch EC2 may not know an instance yet
// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html). So
// InvalidInstanceID.NotFound never counts a chunk as done: the IDs EC2 lists as live are
// terminated again at once, the others again after a backoff, and the outcome is judged by
// what DescribeInstances reports.
func (c *Client) TerminateAndWait(ctx context.Context, pool string, ids []string) error {
	pending := slices.Clone(ids)
	r := c.retry()
	for attempt := 1; len(pending) > 0; attempt++ {
		var unseen []string
		for _, chunk := range chunks(pending, maxTerminate) {
			left, err := c.terminate(ctx, chunk)
			if err != nil {
				return fmt.Errorf("terminating %d nodes of %s: %w", len(chunk), pool, err)
			}
			unseen = append(unseen, left...)
		}
		pending = unseen
		if len(pending) == 0 || attempt >= r.Attempts {
			break
		}
		c.progress("waiting for EC2 to know the nodes to terminate", map[string]any{"pool": pool, "count": len(pending), "attempt": attempt})
		if err := sleep(ctx, r.backoff(attempt)); err != nil {
			return fmt.Errorf("terminating %d nodes of %s: %w", len(pending), pool, err)
		}
	}
	// What EC2 never came to know after every attempt is not there to terminate.
	_, err := c.waitStates(ctx, pool, ids, true, func(i types.Instance) (bool, error) { return instanceState(i) == "terminated", nil })
	return err
}

// terminate terminates one chunk of IDs and returns those EC2 does not know (yet).
func (c *Client) terminate(ctx context.Context, chunk []string) ([]string, error) {
	_, err := c.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: chunk})
	switch {
	case err == nil:
		return nil, nil
	case !isCode(err, codeInstanceNotFound):
		// A retry of a termination whose answer was lost can fail although the first
		// attempt worked: what counts is whether the nodes are on their way out.
		if live, derr := c.liveOf(ctx, chunk); derr != nil || len(live) > 0 {
			return nil, err
		}
		return nil, nil
	}
	// EC2 terminated none of the chunk. What it lists as live is terminated again now; what
	// it does not list yet waits for the next attempt.
	listed, err := c.describeIDs(ctx, chunk)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var live, unknown []string
	for _, i := range listed {
		seen[aws.ToString(i.InstanceId)] = true
		if slices.Contains(liveStates, instanceState(i)) {
			live = append(live, aws.ToString(i.InstanceId))
		}
	}
	for _, id := range chunk {
		if !seen[id] {
			unknown = append(unknown, id)
		}
	}
	if len(live) > 0 {
		_, err := c.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: live})
		switch {
		case isCode(err, codeInstanceNotFound):
			unknown = append(unknown, live...)
		case err != nil:
			return nil, err
		}
	}
	return unknown, nil
}

// liveOf returns those of ids that are not shutting down or terminated.
func (c *Client) liveOf(ctx context.Context, ids []string) ([]string, error) {
	instances, err := c.describeIDs(ctx, ids, types.Filter{Name: aws.String("instance-state-name"), Values: liveStates})
	return instancesIDs(instances), err
}

// describeIDs describes instances by ID, with an instance-id filter chunked so that no call
// holds more filter values than EC2 takes.
func (c *Client) describeIDs(ctx context.Context, ids []string, extra ...types.Filter) ([]types.Instance, error) {
	room := maxFilterValues
	for _, f := range extra {
		room -= len(f.Values)
	}
	var all []types.Instance
	for _, chunk := range chunks(ids, room) {
		filters := append([]types.Filter{{Name: aws.String("instance-id"), Values: chunk}}, extra...)
		instances, err := c.describeInstances(ctx, filters)
		if err != nil {
			return nil, err
		}
		all = append(all, instances...)
	}
	return all, nil
}

// describeInstances returns every instance that matches filters, page by page.
func (c *Client) describeInstances(ctx context.Context, filters []types.Filter) ([]types.Instance, error) {
	var out []types.Instance
	p := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{Filters: filters, MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Reservations {
			out = append(out, r.Instances...)
		}
	}
	return out, nil
}

func instancesIDs(instances []types.Instance) []string {
	out := make([]string, len(instances))
	for i, inst := range instances {
		out[i] = aws.ToString(inst.InstanceId)
	}
	return out
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

// nameNodes sets the Name tag of every node whose Name is missing or wrong (a launch of several
// nodes, a run killed before naming, a rename in the console) to its node name, with its
// volumes and network interfaces: one CreateTags per node, a few at once. A node that cannot be
// named is a warning, not a failure: it works, and the next apply names it.
func (c *Client) nameNodes(ctx context.Context, pool string, nodes []Node) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, c.concurrency())
	)
	for i := range nodes {
		n := &nodes[i]
		if n.Name == n.Hostname {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			in := &ec2.CreateTagsInput{
				Resources: append([]string{n.InstanceID}, n.attached...),
				Tags:      ec2Tags(map[string]string{TagName: n.Hostname}),
			}
			err := c.retryOn(ctx, []string{codeInstanceNotFound, codeVolumeNotFound, codeInterfaceNotFound}, func() error {
				_, err := c.EC2.CreateTags(ctx, in)
				return err
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("naming %s (%s) of %s: %w", n.Hostname, n.InstanceID, pool, err))
				mu.Unlock()
				return
			}
			n.Name = n.Hostname
		}()
	}
	wg.Wait()
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}
