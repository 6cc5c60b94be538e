package provisioning

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// maxLaunchAttempts bounds the client's own retries of RunInstances (see Launch).
const maxLaunchAttempts = 8

// Launch starts count nodes of p in one RunInstances call, named from indexBase on, and waits
// until all run.
//
// GOTCHA: RunInstances is not safe to retry blindly: a request that reached EC2 but whose answer
// was lost launches instances that a retry would launch again. The call carries an idempotency
// ClientToken, which EC2 honours, and its instances are tagged at creation with that token
// (ec2k8s:launch). The SDK's own retries are off for this call; before each retry the client
// looks for instances with the token's tag and adopts them, so no emulator or edge case can
// double a pool.
func (c *Client) Launch(ctx context.Context, p Pool, sgIDs []string, count, indexBase int) ([]Node, error) {
	in, token, err := c.runInput(ctx, p, sgIDs, count, indexBase)
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
		if !retryableLaunch(err) || attempt >= maxLaunchAttempts {
			return nil, launchError(p, count, err)
		}
		c.progress("retrying launch", map[string]any{"pool": p.ID(), "attempt": attempt, "error": errorCode(err)})
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return nil, fmt.Errorf("launching %d nodes of %s: %w", count, p.ID(), err)
		}
	}
	c.progress("launched nodes, waiting until they run", map[string]any{"pool": p.ID(), "count": len(ids)})
	running, err := c.waitStates(ctx, p.ID(), ids, func(state string) (bool, error) {
		switch state {
		case "running":
			return true, nil
		case "shutting-down", "terminated", "stopping", "stopped":
			return false, fmt.Errorf("went to %s while starting (capacity or spot interruption?)", state)
		default:
			return false, nil
		}
	}, false)
	if err != nil {
		return nil, err
	}
	// The last poll saw every node running, with its addresses: no further Describe call.
	nodes := make([]Node, 0, len(running))
	for _, i := range running {
		nodes = append(nodes, nodeOf(i, p.HostnamePrefix))
	}
	sortNodes(nodes)
	return nodes, nil
}

func launchError(p Pool, count int, err error) error {
	code := errorCode(err)
	switch code {
	case "InsufficientInstanceCapacity":
		return fmt.Errorf("EC2 has no capacity for %d %s instances in %s now (%w); nothing was launched: retry later, or use another zone or instance type", count, p.Launch.InstanceType, p.Launch.AvailabilityZone, err)
	case "InstanceLimitExceeded", "VcpuLimitExceeded":
		return fmt.Errorf("launching %d nodes of %s would exceed the account's EC2 limits (%w); nothing was launched: raise the quota or lower quantity", count, p.ID(), err)
	}
	return fmt.Errorf("launching %d nodes of %s: %w", count, p.ID(), err)
}

// launched returns the live instances a launch with this token already made.
func (c *Client) launched(ctx context.Context, token string) ([]string, error) {
	return c.liveIDs(ctx, types.Filter{Name: aws.String("tag:" + TagLaunch), Values: []string{token}})
}

// capacityCodes are launch errors that come as server faults but will not pass by retrying at
// once: the user must choose (wait, another zone or type, a quota).
var capacityCodes = map[string]bool{
	"InsufficientInstanceCapacity": true, "InsufficientCapacity": true, "InstanceLimitExceeded": true,
	"VcpuLimitExceeded": true, "MaxSpotInstanceCountExceeded": true, "SpotMaxPriceTooLow": true,
}

func retryableLaunch(err error) bool {
	return !capacityCodes[errorCode(err)] && retryable(err)
}

// retryable reports whether a failed call may be tried again: throttling, server faults and
// transport errors, as the SDK's standard retryer judges them.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool()
}

func backoff(attempt int) time.Duration {
	d := time.Duration(1<<min(attempt, 5)) * 100 * time.Millisecond
	return min(d, 5*time.Second)
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return "transport"
}

func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}

// runInput builds the RunInstances request and its idempotency token.
func (c *Client) runInput(ctx context.Context, p Pool, sgIDs []string, count, indexBase int) (*ec2.RunInstancesInput, string, error) {
	l := p.Launch
	userData, err := p.UserData(indexBase)
	if err != nil {
		return nil, "", err
	}
	// A nonce per launch: retries of this launch share the token; a later launch with the same
	// pool, spec and indices (after a pool was deleted and made again) must not get the old
	// instances back from EC2's idempotency window.
	nonce := make([]byte, 8)
	if _, err := rand.Read(nonce); err != nil {
		return nil, "", fmt.Errorf("making a launch token: %w", err)
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{p.ID(), p.Spec, strconv.Itoa(indexBase), strconv.Itoa(count), hex.EncodeToString(nonce)}, "|")))
	token := hex.EncodeToString(sum[:])[:32]
	root, err := c.rootDevice(ctx, l.AMI)
	if err != nil {
		return nil, "", err
	}
	// The template's tags first: the provider's own always win (the template cannot set them).
	tags := map[string]string{}
	for k, v := range l.Tags {
		tags[k] = v
	}
	for k, v := range map[string]string{
		"Name":                p.HostnamePrefix,
		ClusterTag(p.Cluster): "owned",
		TagCluster:            p.Cluster,
		TagPool:               p.Name,
		TagRoles:              strings.Join(p.Roles.List(), ","),
		TagSpec:               p.Spec,
		TagIndexBase:          strconv.Itoa(indexBase),
		TagLaunch:             token,
	} {
		tags[k] = v
	}
	in := &ec2.RunInstancesInput{
		ImageId:      aws.String(l.AMI),
		InstanceType: types.InstanceType(l.InstanceType),
		MinCount:     aws.Int32(int32(count)),
		MaxCount:     aws.Int32(int32(count)),
		ClientToken:  aws.String(token),
		KeyName:      aws.String(p.KeyPairName),
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
			InstanceMetadataTags:    types.InstanceMetadataTagsStateEnabled,
		},
		Monitoring:   &types.RunInstancesMonitoringEnabled{Enabled: aws.Bool(l.Monitoring)},
		EbsOptimized: aws.Bool(l.EBSOptimized),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: ec2Tags(tags)},
			{ResourceType: types.ResourceTypeVolume, Tags: ec2Tags(tags)},
			{ResourceType: types.ResourceTypeNetworkInterface, Tags: ec2Tags(tags)},
		},
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

func ec2Tags(m map[string]string) []types.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, len(keys))
	for i, k := range keys {
		out[i] = types.Tag{Key: aws.String(k), Value: aws.String(m[k])}
	}
	return out
}
