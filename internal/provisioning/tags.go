package provisioning

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Tags the provider sets on everything a node pool makes. EC2 is the source of truth: a pool is
// found again from these, and nothing is ever read back from Name, which users may edit.
const (
	// TagPrefix starts every tag key of the provider's own but Name and ClusterTag.
	TagPrefix         = "ec2k8s:"
	TagName           = "Name"
	TagCluster        = "ec2k8s:cluster"
	TagPool           = "ec2k8s:pool"
	TagRoles          = "ec2k8s:roles"
	TagSpec           = "ec2k8s:spec"
	TagHostnamePrefix = "ec2k8s:hostname-prefix"
	// TagIndexBase is the index of the first node of a launch: a node's index is it plus the
	// node's AMI launch index, which EC2 reports and the node reads from its metadata.
	TagIndexBase = "ec2k8s:index-base"
	TagLaunch    = "ec2k8s:launch"
	// TagVersion is the Kubernetes release a node was booted with: agents wait until every
	// server runs theirs (no kubelet newer than its API server).
	TagVersion = "ec2k8s:kubernetes-version"
	tagManaged = "ec2k8s:managed"
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

// RolesOf parses the ec2k8s:roles tag.
func RolesOf(list []string) Roles {
	return Roles{Etcd: slices.Contains(list, "etcd"), ControlPlane: slices.Contains(list, "controlplane"), Worker: slices.Contains(list, "worker")}
}

// launchTags are the tags of the instances, volumes and network interfaces of one launch: the
// template's first, then the provider's, which always win (the template cannot set them). A
// launch of one node also gets its Name; the nodes of a larger launch share every tag given at
// creation, so they are named one by one once they run (see nameNodes).
func launchTags(p Pool, hash, token string, count, indexBase int) map[string]string {
	tags := maps.Clone(p.Spec.Launch.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	maps.Copy(tags, map[string]string{
		ClusterTag(p.Cluster): "owned",
		TagCluster:            p.Cluster,
		TagPool:               p.Name,
		TagRoles:              strings.Join(p.Roles.List(), ","),
		TagSpec:               hash,
		TagHostnamePrefix:     p.HostnamePrefix,
		TagIndexBase:          strconv.Itoa(indexBase),
		TagLaunch:             token,
		TagVersion:            p.Spec.Boot.KubernetesVersion,
	})
	if count == 1 {
		tags[TagName] = p.HostnamePrefix + strconv.Itoa(indexBase)
	}
	return tags
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func ec2Tags(m map[string]string) []types.Tag {
	out := make([]types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}
