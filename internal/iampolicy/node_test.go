package iampolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The two policies of kubernetes/cloud-provider-aws docs/prerequisites.md, "IAM Policies",
// verbatim (blob 2d48c407f600c89ad5ce2b3a91b6bd2b2cfcef5d: tags v1.33.4 and v1.34.3, the
// release-1.34 head f32b6d42248819ac515212d1adaa0c59d4bd7272). When the upstream document
// changes, paste the new ones here and update the registry in node.go until the tests pass.
const (
	upstreamControlPlanePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribeTags",
        "ec2:DescribeInstances",
        "ec2:DescribeRegions",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVolumes",
        "ec2:DescribeAvailabilityZones",
        "ec2:CreateSecurityGroup",
        "ec2:CreateTags",
        "ec2:CreateVolume",
        "ec2:ModifyInstanceAttribute",
        "ec2:ModifyVolume",
        "ec2:AttachVolume",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateRoute",
        "ec2:DeleteRoute",
        "ec2:DeleteSecurityGroup",
        "ec2:DeleteVolume",
        "ec2:DetachVolume",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:DescribeVpcs",
        "ec2:DescribeInstanceTopology",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:AttachLoadBalancerToSubnets",
        "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer",
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateLoadBalancerPolicy",
        "elasticloadbalancing:CreateLoadBalancerListeners",
        "elasticloadbalancing:ConfigureHealthCheck",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteLoadBalancerListeners",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DetachLoadBalancerFromSubnets",
        "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
        "elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancerPolicies",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:SetLoadBalancerPoliciesOfListener",
        "iam:CreateServiceLinkedRole",
        "kms:DescribeKey"
      ],
      "Resource": [
        "*"
      ]
    }
  ]
}`

	upstreamNodePolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ec2:DescribeInstances",
        "ec2:DescribeRegions",
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:BatchGetImage"
      ],
      "Resource": "*"
    }
  ]
}`
)

// upstreamActions returns the actions a policy document grants, de-duplicated and sorted.
func upstreamActions(t *testing.T, doc string) []string {
	t.Helper()
	c := normalize(t, doc)
	set := map[string]bool{}
	for _, line := range c {
		actions, _, _ := strings.Cut(strings.TrimPrefix(line, "Allow "), " on ")
		for _, a := range strings.Split(actions, ",") {
			set[a] = true
		}
	}
	return sorted(set)
}

func registryActions(f Feature) []string {
	set := map[string]bool{}
	for _, a := range NodeActions() {
		if a.Feature == f {
			set[a.granted()] = true
		}
	}
	return sorted(set)
}

// diff reports what want has that got lacks, and the reverse.
func diff(got, want []string) (missing, extra []string) {
	g, w := map[string]bool{}, map[string]bool{}
	for _, s := range got {
		g[s] = true
	}
	for _, s := range want {
		w[s] = true
	}
	for _, s := range want {
		if !g[s] {
			missing = append(missing, s)
		}
	}
	for _, s := range got {
		if !w[s] {
			extra = append(extra, s)
		}
	}
	return missing, extra
}

// TestNodeRegistry_matchesUpstream holds the registry against AWS's list, action by action.
func TestNodeRegistry_matchesUpstream(t *testing.T) {
	for _, tc := range []struct {
		feature Feature
		doc     string
		count   int
	}{
		// 57 lines in the doc, elasticloadbalancing:AddTags twice.
		{CloudControlPlane, upstreamControlPlanePolicy, 56},
		{CloudNode, upstreamNodePolicy, 9},
	} {
		want := upstreamActions(t, tc.doc)
		got := registryActions(tc.feature)
		if missing, extra := diff(got, want); len(missing)+len(extra) > 0 {
			t.Errorf("%s: registry differs from cloud-provider-aws docs/prerequisites.md\n missing: %v\n   extra: %v", tc.feature, missing, extra)
		}
		if len(want) != tc.count {
			t.Errorf("%s: the upstream policy has %d distinct actions; want %d (the pasted document changed?)", tc.feature, len(want), tc.count)
		}
	}
}

func TestBuildNode_equalsUpstream(t *testing.T) {
	for _, partition := range []string{"", "aws", "aws-cn", "aws-us-gov"} {
		t.Run("partition="+partition, func(t *testing.T) {
			docs, err := BuildNode(NodeParams{Partition: partition})
			if err != nil {
				t.Fatal(err)
			}
			for _, tc := range []struct {
				name string
				got  Document
				want string
			}{{"control plane", docs.ControlPlane, upstreamControlPlanePolicy}, {"node", docs.Node, upstreamNodePolicy}} {
				r := render(t, tc.got)
				want := normalize(t, tc.want)
				assertStatements(t, tc.name, normalize(t, r.JSON), want)
				assertStatements(t, tc.name+" (minified)", normalize(t, r.Minified), want)
			}
		})
	}
}

// TestNormalizeNode_detectsChanges proves the comparison above is not blind.
func TestNormalizeNode_detectsChanges(t *testing.T) {
	docs, err := BuildNode(NodeParams{})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(normalize(t, render(t, docs.ControlPlane).JSON))
	for _, mutate := range []struct{ from, to string }{
		{`"kms:DescribeKey"`, `"kms:Decrypt"`},
		{`"ec2:DescribeVpcs",`, ``},
		{`"ec2:CreateRoute",`, `"ec2:CreateRoute", "ec2:ReplaceRoute",`},
		{`"*"`, `"arn:aws:ec2:*:*:instance/*"`},
	} {
		changed := strings.Replace(upstreamControlPlanePolicy, mutate.from, mutate.to, 1)
		if changed == upstreamControlPlanePolicy {
			t.Fatalf("mutation %q not applied: the pasted document changed shape", mutate.from)
		}
		if fmt.Sprint(normalize(t, changed)) == got {
			t.Errorf("replacing %s with %s upstream still compares equal", mutate.from, mutate.to)
		}
	}
}

func TestBuildNode_etcdSnapshots(t *testing.T) {
	upstream := normalize(t, upstreamControlPlanePolicy)
	const bucketActions = "s3:GetBucketLocation,s3:ListBucket"
	const objectActions = "s3:AbortMultipartUpload,s3:DeleteObject,s3:GetObject,s3:PutObject"
	for _, tc := range []struct {
		name               string
		params             NodeParams
		bucketARN, objects string
	}{
		{"no folder", NodeParams{EtcdSnapshotBucket: "my-snapshots"}, "arn:aws:s3:::my-snapshots", "arn:aws:s3:::my-snapshots/*"},
		{"folder", NodeParams{EtcdSnapshotBucket: "my-snapshots", EtcdSnapshotFolder: "etcd/prod"}, "arn:aws:s3:::my-snapshots", "arn:aws:s3:::my-snapshots/etcd/prod/*"},
		{"folder with trailing slash", NodeParams{EtcdSnapshotBucket: "my-snapshots", EtcdSnapshotFolder: "etcd/prod/"}, "arn:aws:s3:::my-snapshots", "arn:aws:s3:::my-snapshots/etcd/prod/*"},
		{"dotted bucket, China", NodeParams{Partition: "aws-cn", EtcdSnapshotBucket: "snap.example.cn", EtcdSnapshotFolder: "k8s"}, "arn:aws-cn:s3:::snap.example.cn", "arn:aws-cn:s3:::snap.example.cn/k8s/*"},
		{"GovCloud", NodeParams{Partition: "aws-us-gov", EtcdSnapshotBucket: "gov-snaps"}, "arn:aws-us-gov:s3:::gov-snaps", "arn:aws-us-gov:s3:::gov-snaps/*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			docs, err := BuildNode(tc.params)
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]string(nil), upstream...),
				"Allow "+bucketActions+" on "+tc.bucketARN,
				"Allow "+objectActions+" on "+tc.objects)
			slices.Sort(want)
			assertStatements(t, "control plane", normalize(t, render(t, docs.ControlPlane).JSON), want)
			assertStatements(t, "node", normalize(t, render(t, docs.Node).JSON), normalize(t, upstreamNodePolicy))
			for _, s := range docs.ControlPlane.Statement {
				if s.Sid == sidEtcdBucket || s.Sid == sidEtcdObjects {
					for _, r := range s.Resource {
						if strings.Contains(r, "*") && r != tc.objects {
							t.Errorf("%s grants %s: S3 statements must be scoped to the bucket and folder", s.Sid, r)
						}
					}
				}
			}
		})
	}
}

func TestNodeRegistry_invariants(t *testing.T) {
	known := map[string]bool{}
	sidRe := regexp.MustCompile(`^[A-Za-z0-9]+$`)
	for _, sid := range nodeStatementOrder {
		known[sid] = true
		if !sidRe.MatchString(sid) {
			t.Errorf("Sid %q is not alphanumeric", sid)
		}
	}
	for _, sid := range statementOrder {
		if known[sid] {
			t.Errorf("Sid %q is used by both the provisioning and the node documents; Sids must be unique across all documents", sid)
		}
	}
	wantFeature := map[string]Feature{sidCloudControlPlane: CloudControlPlane, sidCloudNode: CloudNode, sidEtcdBucket: EtcdSnapshotS3, sidEtcdObjects: EtcdSnapshotS3}
	scoped := map[string]bool{}
	seen := map[string]bool{}
	for i, a := range nodeRegistry {
		key := string(a.Feature) + " " + a.Name
		if seen[key] {
			t.Errorf("nodeRegistry[%d]: %s is declared twice for feature %s", i, a.Name, a.Feature)
		}
		seen[key] = true
		if !known[a.Statement] {
			t.Errorf("nodeRegistry[%d] %s: statement %q is not in nodeStatementOrder", i, a.Name, a.Statement)
		}
		if wantFeature[a.Statement] != a.Feature {
			t.Errorf("nodeRegistry[%d] %s: feature %s in statement %s", i, a.Name, a.Feature, a.Statement)
		}
		if a.Use == "" {
			t.Errorf("nodeRegistry[%d] %s: no Use; the security review needs to know why", i, a.Name)
		}
		if svc, name, ok := strings.Cut(a.Name, ":"); !ok || svc == "" || name == "" || strings.Contains(a.Name, "*") {
			t.Errorf("nodeRegistry[%d]: %q is not a single service:Action", i, a.Name)
		}
		if a.Grant != "" {
			t.Errorf("nodeRegistry[%d] %s: node documents grant actions one by one, as AWS lists them; no Grant", i, a.Name)
		}
		if a.Feature == EtcdSnapshotS3 && (len(a.Resources) == 0 || !strings.HasPrefix(a.Name, "s3:")) {
			t.Errorf("nodeRegistry[%d] %s: etcd snapshot actions are S3 actions scoped to the bucket", i, a.Name)
		}
		if prev, ok := scoped[a.Statement]; ok && prev != (a.Resources != nil) {
			t.Errorf("nodeRegistry[%d] %s: statement %s mixes scoped and unscoped actions", i, a.Name, a.Statement)
		}
		scoped[a.Statement] = a.Resources != nil
	}
	// The bucket-level and object-level S3 actions must not share a statement: IAM checks
	// ListBucket against the bucket ARN and the object actions against object ARNs.
	for _, a := range nodeRegistry {
		for _, r := range a.Resources {
			if (r == S3Bucket) != (a.Statement == sidEtcdBucket) {
				t.Errorf("%s on %s is in statement %s", a.Name, r, a.Statement)
			}
		}
	}
}

func TestBuildNode_deterministicAndWellFormed(t *testing.T) {
	p := NodeParams{EtcdSnapshotBucket: "my-snapshots", EtcdSnapshotFolder: "etcd"}
	first, err := BuildNode(p)
	if err != nil {
		t.Fatal(err)
	}
	again, err := BuildNode(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]Document{{first.ControlPlane, again.ControlPlane}, {first.Node, again.Node}} {
		a, b := render(t, pair[0]), render(t, pair[1])
		if a.JSON != b.JSON || a.Minified != b.Minified {
			t.Errorf("two builds differ:\n%s\n---\n%s", a.JSON, b.JSON)
		}
		if strings.ContainsAny(a.Minified, " \n\t") {
			t.Errorf("Minified has white space: %s", a.Minified)
		}
		if a.Size != len(a.Minified) || a.Size > MaxManagedPolicySize {
			t.Errorf("Size = %d for %d characters (limit %d)", a.Size, len(a.Minified), MaxManagedPolicySize)
		}
		var parsed map[string]any
		if err := json.Unmarshal([]byte(a.JSON), &parsed); err != nil {
			t.Errorf("JSON does not parse: %v", err)
		}
		for _, s := range pair[0].Statement {
			for _, list := range [][]string{s.Action, s.Resource} {
				if !slices.IsSorted(list) {
					t.Errorf("statement %s lists %v unsorted", s.Sid, list)
				}
			}
		}
	}
	if got := []string{first.ControlPlane.Statement[0].Sid, first.ControlPlane.Statement[1].Sid, first.ControlPlane.Statement[2].Sid}; fmt.Sprint(got) != fmt.Sprint([]string{sidCloudControlPlane, sidEtcdBucket, sidEtcdObjects}) {
		t.Errorf("control-plane statements in order %v", got)
	}
}

// TestBuildNode_size: no input can push a document over the limit (the folder is bounded by
// S3's key length), but the limit is still checked; checkSize is exercised directly.
func TestBuildNode_size(t *testing.T) {
	folder := strings.Repeat("a", maxS3KeyBytes-1)
	docs, err := BuildNode(NodeParams{EtcdSnapshotBucket: strings.Repeat("b", 63), EtcdSnapshotFolder: folder})
	if err != nil {
		t.Fatalf("longest inputs: %v", err)
	}
	if r := render(t, docs.ControlPlane); r.Size > MaxManagedPolicySize {
		t.Errorf("control plane with the longest inputs is %d characters", r.Size)
	}
	big := Document{Version: "2012-10-17", Statement: []Statement{{Sid: "Big", Effect: "Allow", Action: Values{"s3:GetObject"}, Resource: Values{"arn:aws:s3:::b/" + strings.Repeat("x", MaxManagedPolicySize)}}}}
	err = checkSize("control-plane", big)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "6144") || !strings.Contains(err.Error(), "control-plane") {
		t.Errorf("checkSize of an oversized document = %v; want ErrTooLarge naming the document and the limit", err)
	}
}

func TestBuildNode_rejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    NodeParams
		want string
	}{
		{"folder without bucket", NodeParams{EtcdSnapshotFolder: "etcd"}, "etcd_snapshot_folder is set without etcd_snapshot_bucket"},
		{"bad partition", NodeParams{Partition: "aws-mars"}, `partition: "aws-mars" is not a supported AWS partition`},
		{"bad bucket", NodeParams{EtcdSnapshotBucket: "My_Bucket"}, "etcd_snapshot_bucket:"},
		{"bad folder", NodeParams{EtcdSnapshotBucket: "ok-bucket", EtcdSnapshotFolder: "/etcd"}, "etcd_snapshot_folder:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildNode(tc.p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("BuildNode(%+v) error = %v; want it to contain %q", tc.p, err, tc.want)
			}
		})
	}
	if _, err := BuildNode(NodeParams{EtcdSnapshotFolder: "etcd"}); !errors.Is(err, ErrFolderWithoutBucket) {
		t.Errorf("folder without bucket: %v; want ErrFolderWithoutBucket", err)
	}
}

func TestNodeParamsCheck(t *testing.T) {
	if errs := (NodeParams{}).Check(); len(errs) != 0 {
		t.Errorf("Check of an empty config = %v; want none", errs)
	}
	// A folder alone is not reported by Check: the bucket may be unknown at plan time.
	if errs := (NodeParams{EtcdSnapshotFolder: "etcd"}).Check(); len(errs) != 0 {
		t.Errorf("Check of a folder alone = %v; want none", errs)
	}
	errs := NodeParams{Partition: "gcp", EtcdSnapshotBucket: "a", EtcdSnapshotFolder: "x//y"}.Check()
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	if fmt.Sprint(fields) != "[partition etcd_snapshot_bucket etcd_snapshot_folder]" {
		t.Errorf("Check fields = %v; want one error per bad field", fields)
	}
}

func TestValidateS3Names(t *testing.T) {
	type check struct{ value, want string }
	for _, tc := range []struct {
		name   string
		fn     func(string) error
		checks []check
	}{
		{"bucket", ValidateS3BucketName, []check{
			{"my-snapshots", ""}, {"abc", ""}, {"a.b-c.d", ""}, {"123", ""}, {strings.Repeat("a", 63), ""}, {"snap.example.com", ""},
			{"", "leave etcd_snapshot_bucket unset"}, {"ab", "it is 2 characters long; use 3 to 63"}, {strings.Repeat("a", 64), "use 3 to 63"},
			{"My-Bucket", "lowercase letters, digits"}, {"my_bucket", "lowercase letters, digits"}, {"my bucket", "lowercase letters"},
			{"-bucket", "begin and end"}, {"bucket-", "begin and end"}, {".bucket", "begin and end"},
			{"a..b", "two adjacent dots"}, {"192.168.5.4", "formatted as an IP address"},
			{"xn--bucket", `prefix "xn--" is reserved`}, {"sthree-bucket", `prefix "sthree-"`}, {"sthree-configurator", `prefix "sthree-"`}, {"amzn-s3-demo-bucket", `"amzn-s3-demo-"`},
			{"bucket-s3alias", `suffix "-s3alias" is reserved for access point aliases`}, {"bucket--ol-s3", `"--ol-s3"`}, {"bucket.mrap", `".mrap"`},
			{"base--usw2-az1--x-s3", "directory buckets"}, {"tables--table-s3", `"--table-s3"`},
			{"arn:aws:s3:::bucket", "without arn: or s3://"}, {"s3://bucket", "without arn: or s3://"}, {"bucket/etcd", "etcd_snapshot_folder"},
		}},
		{"folder", ValidateS3Folder, []check{
			{"etcd", ""}, {"etcd/prod", ""}, {"etcd/prod/", ""}, {"a.b_c-d!e'f(g)", ""}, {"2024", ""}, {strings.Repeat("f", maxS3KeyBytes-1), ""},
			{"/etcd", "drop the leading"}, {"/", "it is empty"}, {"", "it is empty"},
			{"etcd//prod", "empty segment"}, {"etcd/prod//", "empty segment"},
			{"etcd/../other", `segment ".."`}, {"./etcd", `segment "."`},
			{"etcd/*", "IAM wildcards"}, {"etcd?", "IAM wildcards"},
			{"${aws:username}", "safe key characters"}, {"etcd prod", "safe key characters"}, {`etcd\prod`, "safe key characters"}, {"étcd", "safe key characters"},
			{strings.Repeat("f", maxS3KeyBytes), "S3 keys are at most 1024 bytes"},
		}},
	} {
		for _, c := range tc.checks {
			name := c.value
			if len(name) > 40 {
				name = name[:40] + "..."
			}
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				err := tc.fn(c.value)
				switch {
				case c.want == "" && err != nil:
					t.Errorf("%q: unexpected error %v", c.value, err)
				case c.want != "" && err == nil:
					t.Errorf("%q: accepted; want an error containing %q", c.value, c.want)
				case c.want != "" && !strings.Contains(err.Error(), c.want):
					t.Errorf("%q: error %q; want it to contain %q", c.value, err, c.want)
				}
			})
		}
	}
}
