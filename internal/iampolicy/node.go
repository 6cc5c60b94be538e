package iampolicy

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// The node registry: what the nodes' instance profiles need, as opposed to the provisioning
// registry (registry.go), which is what the provider's own credential needs.
//
// Sources, read action by action:
//
//   - The cloud provider: kubernetes/cloud-provider-aws, docs/prerequisites.md, "IAM Policies"
//     (the "Control Plane Policy" and the "Node Policy"), blob
//     2d48c407f600c89ad5ce2b3a91b6bd2b2cfcef5d, the same in tags v1.33.4 (commit
//     0b04570109676ececd2a56cb7729bec3bbc503e4, the release-1.33 head) and v1.34.3 (commit
//     933230259c8e9159356e0dae33598d531df9efd3) and at the release-1.34 head (commit
//     f32b6d42248819ac515212d1adaa0c59d4bd7272); last changed by commit
//     04c9c755e8cb06bfbbfe190ac116e3a52a399c09 ("Add node topology labels"). The registry holds
//     exactly the actions of those two documents (the control-plane one lists
//     elasticloadbalancing:AddTags twice; it is one action), and node_test.go holds the
//     documents, verbatim, against it. The Use notes come from the v1.34.3 code (pkg/providers/v1,
//     cmd/ecr-credential-provider): several actions are kept only because the doc lists them (the
//     in-tree provider's EBS volumes and Auto Scaling lookups). Conversely, v1.34.3 calls a few
//     actions the doc does not list: elasticloadbalancing:DescribeTargetGroupAttributes and
//     ModifyTargetGroupAttributes (since v1.33.4/v1.34.2, for a Network Load Balancer whose Service
//     has the target-group-attributes annotation), ec2:DeleteTags (the tagging controller, off by
//     default) and
//     ec2:DescribeNetworkInterfaces (Fargate nodes only). They are not granted: the documents
//     follow AWS's published policy; see the data source's documentation.
//   - etcd snapshots in S3: neither the RKE2 docs (rancher/rke2-docs docs/datastore/backup_restore.md,
//     commit 9477b7b1df1f0bd431cdabbb39fbdcd21cb82602) nor the K3s docs (k3s-io/docs
//     docs/cli/etcd-snapshot.md) list IAM permissions; they document the --etcd-s3-* flags. The
//     S3 actions are those of the calls the snapshot code makes (k3s-io/k3s pkg/etcd/s3/s3.go,
//     commit 0d0a789ab9188bf5594259c746f2cf022d6c4403, which RKE2 embeds) through minio-go v7
//     (minio/minio-go commit e9f656c5c1d1ae3571970eb46c3005375530f049): BucketExists (HeadBucket),
//     ListObjects (ListObjectsV2), StatObject (HeadObject), FGetObject/GetObject, FPutObject
//     (PutObject, or a multipart upload that is aborted on failure), RemoveObject, and minio's
//     bucket-location lookup. Snapshot keys are path.Join(folder, name), and metadata keys
//     path.Join(folder, ".metadata", name), so "<folder>/*" covers both.

// The features of the node documents.
const (
	// CloudControlPlane is what aws-cloud-controller-manager needs on control-plane nodes.
	CloudControlPlane Feature = "cloud-provider-control-plane"
	// CloudNode is what every node's kubelet needs with cloud_provider = "aws".
	CloudNode Feature = "cloud-provider-node"
	// EtcdSnapshotS3 is what RKE2/K3s servers need to keep etcd snapshots in an S3 bucket.
	EtcdSnapshotS3 Feature = "etcd-snapshot-s3"
)

// The ARN resource types of the etcd snapshot statements.
const (
	// S3Bucket is the snapshot bucket itself: arn:<partition>:s3:::<bucket>.
	S3Bucket ResourceType = "s3-bucket"
	// S3Objects are the objects under the snapshot folder: arn:<partition>:s3:::<bucket>/<folder>/*.
	S3Objects ResourceType = "s3-objects"
)

// Statement Sids of the node documents; unique across every document of the package.
const (
	sidCloudControlPlane = "CloudControllerManager"
	sidCloudNode         = "CloudProviderNode"
	sidEtcdBucket        = "EtcdSnapshotBucket"
	sidEtcdObjects       = "EtcdSnapshotObjects"
)

var nodeStatementOrder = []string{sidCloudControlPlane, sidEtcdBucket, sidEtcdObjects, sidCloudNode}

// Notes shared by several entries.
const (
	noteInTreeEBS   = "listed by the doc for the in-tree provider's EBS volumes; volumes now belong to the EBS CSI driver and v1.34 makes no volume call"
	noteInTreeASG   = "listed by the doc for the in-tree provider's Auto Scaling lookups; v1.34 makes no Auto Scaling call"
	noteNotCalled   = "listed by the doc; v1.34 makes no such call"
	noteCLB         = "Classic Load Balancer of a Service of type LoadBalancer (the default): "
	noteNLB         = "Network Load Balancer of a Service annotated aws-load-balancer-type: nlb: "
	noteKubelet     = "listed by the doc for kubelets of the in-tree provider; with the external cloud controller manager kubelets make no EC2 call"
	noteECRPull     = "pull an image from ECR with the token the ecr-credential-provider got (ECR checks the token's principal): "
	noteECRReadOnly = "listed by the doc (ECR read-only); image pulls do not need it"
)

// nodeRegistry lists every action of the node documents, with why it is granted.
var nodeRegistry = []Action{
	// aws-cloud-controller-manager, on control-plane nodes ("Control Plane Policy").
	{Name: "autoscaling:DescribeAutoScalingGroups", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeASG},
	{Name: "autoscaling:DescribeLaunchConfigurations", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeASG},
	{Name: "autoscaling:DescribeTags", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeASG},
	{Name: "ec2:DescribeInstances", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "node controllers: find each node's instance (addresses, zone, instance type, shutdown or gone); load balancers: the instances behind a Service"},
	{Name: "ec2:DescribeRegions", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNotCalled},
	{Name: "ec2:DescribeRouteTables", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "route controller: find the cluster's route table; load balancers: tell public subnets from private ones"},
	{Name: "ec2:DescribeSecurityGroups", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "load balancers: find a Service's security group and the nodes' groups to open to it"},
	{Name: "ec2:DescribeSubnets", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "load balancers: pick one subnet per zone (tagged kubernetes.io/role/elb or internal-elb)"},
	{Name: "ec2:DescribeVolumes", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeEBS},
	{Name: "ec2:DescribeAvailabilityZones", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "zone cache: zone names to zone IDs for the nodes' topology labels"},
	{Name: "ec2:CreateSecurityGroup", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "load balancers: create a Service's security group"},
	{Name: "ec2:CreateTags", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "tag the security groups it creates with the cluster tag; the tagging controller tags nodes' instances"},
	{Name: "ec2:CreateVolume", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeEBS},
	{Name: "ec2:ModifyInstanceAttribute", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "route controller: turn off source/destination checks on instances that carry pod routes"},
	{Name: "ec2:ModifyVolume", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeEBS},
	{Name: "ec2:AttachVolume", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeEBS},
	{Name: "ec2:AuthorizeSecurityGroupIngress", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "load balancers: open a Service's listener ports and the nodes' ports to its load balancer"},
	{Name: "ec2:CreateRoute", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "route controller (configure-cloud-routes): route a node's pod CIDR to its instance"},
	{Name: "ec2:DeleteRoute", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "route controller (configure-cloud-routes): remove the route of a node that is gone"},
	{Name: "ec2:DeleteSecurityGroup", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "load balancers: delete a Service's security group with its load balancer"},
	{Name: "ec2:DeleteVolume", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeEBS},
	{Name: "ec2:DetachVolume", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteInTreeEBS},
	{Name: "ec2:RevokeSecurityGroupIngress", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "load balancers: close ports a Service no longer uses"},
	{Name: "ec2:DescribeVpcs", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNotCalled},
	{Name: "ec2:DescribeInstanceTopology", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "node controller: network topology labels on instance types that support them"},
	{Name: "elasticloadbalancing:AddTags", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "tag Classic and Network Load Balancers and target groups with the cluster and Service (listed twice by the doc)"},
	{Name: "elasticloadbalancing:AttachLoadBalancerToSubnets", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "add subnets"},
	{Name: "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "set its security groups"},
	{Name: "elasticloadbalancing:CreateLoadBalancer", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "create a Service's Classic or Network Load Balancer"},
	{Name: "elasticloadbalancing:CreateLoadBalancerPolicy", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "proxy protocol and SSL negotiation policies"},
	{Name: "elasticloadbalancing:CreateLoadBalancerListeners", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "add listeners for the Service's ports"},
	{Name: "elasticloadbalancing:ConfigureHealthCheck", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "set the health check"},
	{Name: "elasticloadbalancing:DeleteLoadBalancer", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "delete a Service's Classic or Network Load Balancer"},
	{Name: "elasticloadbalancing:DeleteLoadBalancerListeners", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "remove listeners of ports the Service dropped"},
	{Name: "elasticloadbalancing:DescribeLoadBalancers", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "find a Service's Classic or Network Load Balancer"},
	{Name: "elasticloadbalancing:DescribeLoadBalancerAttributes", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "read load balancer attributes (access logs, cross-zone, connection draining and idle timeout)"},
	{Name: "elasticloadbalancing:DetachLoadBalancerFromSubnets", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "remove subnets"},
	{Name: "elasticloadbalancing:DeregisterInstancesFromLoadBalancer", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "remove nodes"},
	{Name: "elasticloadbalancing:ModifyLoadBalancerAttributes", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "set load balancer attributes from the Service's annotations"},
	{Name: "elasticloadbalancing:RegisterInstancesWithLoadBalancer", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "add nodes"},
	{Name: "elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "apply the proxy protocol policy to backends"},
	{Name: "elasticloadbalancing:CreateListener", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "add a listener per Service port"},
	{Name: "elasticloadbalancing:CreateTargetGroup", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "create a target group per Service port"},
	{Name: "elasticloadbalancing:DeleteListener", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "remove listeners of ports the Service dropped"},
	{Name: "elasticloadbalancing:DeleteTargetGroup", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "delete target groups no longer used"},
	{Name: "elasticloadbalancing:DescribeListeners", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "read its listeners"},
	{Name: "elasticloadbalancing:DescribeLoadBalancerPolicies", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "read its policies"},
	{Name: "elasticloadbalancing:DescribeTargetGroups", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "read its target groups"},
	{Name: "elasticloadbalancing:DescribeTargetHealth", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "read which nodes are registered"},
	{Name: "elasticloadbalancing:ModifyListener", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "point a listener at a new target group"},
	{Name: "elasticloadbalancing:ModifyTargetGroup", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "set the health check"},
	{Name: "elasticloadbalancing:RegisterTargets", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "add nodes"},
	{Name: "elasticloadbalancing:DeregisterTargets", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteNLB + "remove nodes"},
	{Name: "elasticloadbalancing:SetLoadBalancerPoliciesOfListener", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: noteCLB + "apply SSL negotiation policies to listeners"},
	{Name: "iam:CreateServiceLinkedRole", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "let Elastic Load Balancing create its service-linked role for the account's first load balancer"},
	{Name: "kms:DescribeKey", Feature: CloudControlPlane, Statement: sidCloudControlPlane, Use: "listed by the doc for the in-tree provider's encrypted EBS volumes; v1.34 makes no KMS call"},

	// Every node's kubelet ("Node Policy").
	{Name: "ec2:DescribeInstances", Feature: CloudNode, Statement: sidCloudNode, Use: noteKubelet},
	{Name: "ec2:DescribeRegions", Feature: CloudNode, Statement: sidCloudNode, Use: noteKubelet},
	{Name: "ecr:GetAuthorizationToken", Feature: CloudNode, Statement: sidCloudNode, Use: "ecr-credential-provider (a kubelet image credential provider plugin): get a registry token for an ECR image"},
	{Name: "ecr:BatchCheckLayerAvailability", Feature: CloudNode, Statement: sidCloudNode, Use: noteECRPull + "check which layers exist"},
	{Name: "ecr:GetDownloadUrlForLayer", Feature: CloudNode, Statement: sidCloudNode, Use: noteECRPull + "download the layers"},
	{Name: "ecr:GetRepositoryPolicy", Feature: CloudNode, Statement: sidCloudNode, Use: noteECRReadOnly},
	{Name: "ecr:DescribeRepositories", Feature: CloudNode, Statement: sidCloudNode, Use: noteECRReadOnly},
	{Name: "ecr:ListImages", Feature: CloudNode, Statement: sidCloudNode, Use: noteECRReadOnly},
	{Name: "ecr:BatchGetImage", Feature: CloudNode, Statement: sidCloudNode, Use: noteECRPull + "read the image manifest"},

	// etcd snapshots in S3, taken by the servers (etcd and control-plane nodes).
	{Name: "s3:ListBucket", Feature: EtcdSnapshotS3, Statement: sidEtcdBucket, Resources: []ResourceType{S3Bucket}, Use: "check that the bucket exists (HeadBucket) and list snapshots under the folder (ListObjectsV2) for etcd-snapshot ls and retention"},
	{Name: "s3:GetBucketLocation", Feature: EtcdSnapshotS3, Statement: sidEtcdBucket, Resources: []ResourceType{S3Bucket}, Use: "minio-go, the snapshot code's S3 client, asks for the bucket's region when etcd-s3-region is empty"},
	{Name: "s3:PutObject", Feature: EtcdSnapshotS3, Statement: sidEtcdObjects, Resources: []ResourceType{S3Objects}, Use: "upload a snapshot and its metadata (a single PUT, or a multipart upload for large snapshots)"},
	{Name: "s3:GetObject", Feature: EtcdSnapshotS3, Statement: sidEtcdObjects, Resources: []ResourceType{S3Objects}, Use: "read snapshot metadata (HeadObject, GetObject) and download a snapshot to restore it"},
	{Name: "s3:DeleteObject", Feature: EtcdSnapshotS3, Statement: sidEtcdObjects, Resources: []ResourceType{S3Objects}, Use: "remove snapshots beyond the retention count, and etcd-snapshot delete/prune"},
	{Name: "s3:AbortMultipartUpload", Feature: EtcdSnapshotS3, Statement: sidEtcdObjects, Resources: []ResourceType{S3Objects}, Use: "abort a failed multipart upload so its parts are not left behind"},
}

// NodeActions returns a copy of the node registry in its documented order: the control-plane
// policy, then the node policy, then the etcd snapshot actions, each in the order AWS lists them.
func NodeActions() []Action {
	return append([]Action(nil), nodeRegistry...)
}

// NodeParams are the inputs of the node documents.
type NodeParams struct {
	// Partition is "aws", "aws-cn" or "aws-us-gov"; empty means "aws". Only the S3 ARNs use it.
	Partition string
	// EtcdSnapshotBucket is the S3 bucket of etcd snapshots; empty means no S3 snapshots.
	EtcdSnapshotBucket string
	// EtcdSnapshotFolder is the folder of the snapshots in the bucket; empty means its top.
	EtcdSnapshotFolder string
}

// NodeDocuments are the policies of the nodes' instance profiles.
type NodeDocuments struct {
	// ControlPlane is for the role of control-plane (and etcd) nodes: aws-cloud-controller-manager,
	// plus the etcd snapshot statements when a bucket is given.
	ControlPlane Document
	// Node is for the role of every node: the kubelet and its image pulls from ECR.
	Node Document
}

// Check validates every field of p that is set. An empty field counts as unset (or unknown at
// plan time) and is skipped, so a folder without a bucket is not reported here: BuildNode
// refuses it, and callers that can tell null from unknown check it themselves.
func (p NodeParams) Check() []FieldError {
	var errs []FieldError
	if p.Partition != "" {
		if err := ValidatePartition(p.Partition); err != nil {
			errs = append(errs, FieldError{Field: "partition", Err: err})
		}
	}
	if p.EtcdSnapshotBucket != "" {
		if err := ValidateS3BucketName(p.EtcdSnapshotBucket); err != nil {
			errs = append(errs, FieldError{Field: "etcd_snapshot_bucket", Err: err})
		}
	}
	if p.EtcdSnapshotFolder != "" {
		if err := ValidateS3Folder(p.EtcdSnapshotFolder); err != nil {
			errs = append(errs, FieldError{Field: "etcd_snapshot_folder", Err: err})
		}
	}
	return errs
}

// ErrFolderWithoutBucket is returned by BuildNode for a folder given without a bucket.
var ErrFolderWithoutBucket = errors.New("etcd_snapshot_folder is set without etcd_snapshot_bucket: set the bucket the folder is in, or drop the folder")

// BuildNode validates p and builds the node documents. It returns an error wrapping ErrTooLarge
// when a document exceeds MaxManagedPolicySize.
func BuildNode(p NodeParams) (NodeDocuments, error) {
	var errs []error
	for _, e := range p.Check() {
		errs = append(errs, e)
	}
	if p.EtcdSnapshotFolder != "" && p.EtcdSnapshotBucket == "" {
		errs = append(errs, FieldError{Field: "etcd_snapshot_folder", Err: ErrFolderWithoutBucket})
	}
	if err := errors.Join(errs...); err != nil {
		return NodeDocuments{}, err
	}
	if p.Partition == "" {
		p.Partition = "aws"
	}
	on := map[Feature]bool{CloudControlPlane: true, CloudNode: true, EtcdSnapshotS3: p.EtcdSnapshotBucket != ""}
	docs := NodeDocuments{
		ControlPlane: p.document(on, CloudControlPlane, EtcdSnapshotS3),
		Node:         p.document(on, CloudNode),
	}
	for _, d := range []struct {
		name string
		doc  Document
	}{{"control-plane", docs.ControlPlane}, {"node", docs.Node}} {
		if err := checkSize(d.name, d.doc); err != nil {
			return NodeDocuments{}, err
		}
	}
	return docs, nil
}

// checkSize fails with ErrTooLarge when d, minified, is over MaxManagedPolicySize.
func checkSize(name string, d Document) error {
	r, err := d.Render()
	if err != nil {
		return err
	}
	if r.Size > MaxManagedPolicySize {
		return fmt.Errorf("%w: the %s policy is %d characters minified, over the %d AWS allows in a managed policy", ErrTooLarge, name, r.Size, MaxManagedPolicySize)
	}
	return nil
}

// document builds the statements of the given features that are switched on, in
// nodeStatementOrder.
func (p NodeParams) document(on map[Feature]bool, features ...Feature) Document {
	return buildDocument(nodeRegistry, nodeStatementOrder, on, features, func(t ResourceType) []string { return []string{p.s3ARN(t)} })
}

// s3ARN returns the ARN a statement lists for an S3 resource type. The folder's trailing slash,
// if any, is dropped, as path.Join drops it from the snapshot keys.
func (p NodeParams) s3ARN(t ResourceType) string {
	bucket := fmt.Sprintf("arn:%s:s3:::%s", p.Partition, p.EtcdSnapshotBucket)
	if t == S3Bucket {
		return bucket
	}
	if folder := strings.TrimSuffix(p.EtcdSnapshotFolder, "/"); folder != "" {
		return bucket + "/" + folder + "/*"
	}
	return bucket + "/*"
}

var (
	bucketCharsRe = regexp.MustCompile(`^[a-z0-9.-]+$`)
	folderCharsRe = regexp.MustCompile(`^[A-Za-z0-9!_.'()/-]+$`)
)

// The reserved prefixes and suffixes of general purpose bucket names, from AWS's "General
// purpose bucket naming rules" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
var (
	bucketReservedPrefixes = []string{"xn--", "sthree-", "amzn-s3-demo-"}
	bucketReservedSuffixes = map[string]string{
		"-s3alias":   "access point aliases",
		"--ol-s3":    "Object Lambda Access Point aliases",
		".mrap":      "Multi-Region Access Points",
		"--x-s3":     "S3 Express One Zone directory buckets, which etcd snapshots cannot use",
		"--table-s3": "S3 table buckets",
	}
)

// ValidateS3BucketName checks a general purpose S3 bucket name against AWS's naming rules.
func ValidateS3BucketName(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("%q is not a valid S3 bucket name: %s (see S3's general purpose bucket naming rules)", s, why)
	}
	switch {
	case s == "":
		return bad("it is empty; leave etcd_snapshot_bucket unset to keep snapshots off S3")
	case strings.HasPrefix(s, "arn:") || strings.HasPrefix(s, "s3://"):
		return bad("give the bucket's name alone, without arn: or s3://")
	case strings.Contains(s, "/"):
		return bad("a bucket name has no \"/\"; put the path in etcd_snapshot_folder")
	case len(s) < 3 || len(s) > 63:
		return bad(fmt.Sprintf("it is %d characters long; use 3 to 63", len(s)))
	case !bucketCharsRe.MatchString(s):
		return bad("use only lowercase letters, digits, dots (.) and hyphens (-)")
	case !isAlnum(s[0]) || !isAlnum(s[len(s)-1]):
		return bad("begin and end it with a lowercase letter or a digit")
	case strings.Contains(s, ".."):
		return bad("it has two adjacent dots")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return bad("it is formatted as an IP address")
	}
	for _, pre := range bucketReservedPrefixes {
		if strings.HasPrefix(s, pre) {
			return bad(fmt.Sprintf("the prefix %q is reserved by AWS", pre))
		}
	}
	for _, suf := range slices.Sorted(maps.Keys(bucketReservedSuffixes)) {
		if strings.HasSuffix(s, suf) {
			return bad(fmt.Sprintf("the suffix %q is reserved for %s", suf, bucketReservedSuffixes[suf]))
		}
	}
	return nil
}

// maxS3KeyBytes is the longest S3 object key; the folder prefixes every snapshot's key.
const maxS3KeyBytes = 1024

// ValidateS3Folder checks the folder of etcd snapshots in their bucket (RKE2's etcd-s3-folder):
// a relative path of S3's safe key characters, without empty, "." or ".." segments, which
// path.Join would fold so that the keys left the folder the policy grants. One trailing "/" is
// allowed, as path.Join drops it.
func ValidateS3Folder(s string) error {
	bad := func(why string) error { return fmt.Errorf("%q is not a usable snapshot folder: %s", s, why) }
	trimmed := strings.TrimSuffix(s, "/")
	switch {
	case trimmed == "":
		return bad("it is empty; leave etcd_snapshot_folder unset to keep snapshots at the top of the bucket")
	case strings.HasPrefix(s, "/"):
		return bad("drop the leading \"/\"; the folder is relative to the bucket, as in \"etcd/prod\"")
	case len(s) >= maxS3KeyBytes:
		return bad(fmt.Sprintf("it is %d bytes; S3 keys are at most %d bytes, and each snapshot key is the folder plus a name", len(s), maxS3KeyBytes))
	case strings.ContainsAny(s, "*?"):
		return bad("\"*\" and \"?\" are IAM wildcards in the policy's resource; use letters, digits and !-_.'()")
	case !folderCharsRe.MatchString(s):
		return bad("use S3's safe key characters only: letters, digits, \"/\" between folders, and !-_.'()")
	}
	for _, seg := range strings.Split(trimmed, "/") {
		switch seg {
		case "":
			return bad("it has an empty segment (\"//\"); separate folders with one \"/\"")
		case ".", "..":
			return bad(fmt.Sprintf("the segment %q would be folded away by the snapshot code, moving keys out of the folder the policy grants", seg))
		}
	}
	return nil
}

func isAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
