package provisioning

// EC2 error codes the client acts on, from
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html.
const (
	// Eventual consistency: a resource made a moment ago may be unknown to the next call
	// (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
	codeInstanceNotFound = "InvalidInstanceID.NotFound"
	codeGroupNotFound    = "InvalidGroup.NotFound"
	codeKeyPairNotFound  = "InvalidKeyPair.NotFound"
	codeVolumeNotFound   = "InvalidVolume.NotFound"
	// codeInterfaceNotFound is EC2's code for an unknown network interface.
	codeInterfaceNotFound = "InvalidNetworkInterfaceID.NotFound"

	codeGroupDuplicate      = "InvalidGroup.Duplicate"
	codeKeyPairDuplicate    = "InvalidKeyPair.Duplicate"
	codePermissionDuplicate = "InvalidPermission.Duplicate"
	codeRulesLimitExceeded  = "RulesPerSecurityGroupLimitExceeded"

	// Capacity and quotas: not passing by retrying at once.
	codeInsufficientCapacity     = "InsufficientInstanceCapacity"
	codeInsufficientCapacityAlt  = "InsufficientCapacity"
	codeInstanceLimitExceeded    = "InstanceLimitExceeded"
	codeVcpuLimitExceeded        = "VcpuLimitExceeded"
	codeMaxSpotInstanceCount     = "MaxSpotInstanceCountExceeded"
	codeSpotMaxPriceTooLow       = "SpotMaxPriceTooLow"
	codeInvalidInstanceTypeStart = "InvalidInstanceType"
)
