package provisioning

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// UbuntuOwner is Canonical's AWS account, which publishes the Ubuntu images.
const UbuntuOwner = "099720109477"

// Template is how a node is made: the parts of a node template the EC2 checks need.
type Template struct {
	Region         string
	Zone           string // a letter or a full zone name
	VPCID          string // empty: the region's default VPC
	SubnetID       string // empty: picked in the zone
	SecurityGroups []string
	// SecurityGroupReadonly means the provider must not create or change security groups.
	SecurityGroupReadonly bool
	AMI                   string // empty: the newest Ubuntu 24.04 LTS for the architecture
	InstanceType          string
	RootSize              int64
}

// Resolved is what checking a Template against EC2 settled.
type Resolved struct {
	AvailabilityZone string
	VPCID            string
	SubnetID         string
	AMI              string
	Architecture     string
	// SecurityGroupIDs maps each group of the template to its ID; the managed group has none
	// until a node pool creates it.
	SecurityGroupIDs map[string]string
	// Warnings are findings that do not stop the template, such as an instance type below
	// what Kubernetes needs.
	Warnings []string
}

// ResolveTemplate checks t against EC2 with Describe calls and fills in what t leaves to the
// provider: the default VPC, a subnet in the zone, the AMI. keepAMI is an AMI resolved earlier
// for the same template: it is kept while it still exists and fits the instance type, so nodes
// are not replaced just because Canonical published a newer image. All problems found are
// returned together, as a *ValidationError.
func ResolveTemplate(ctx context.Context, api TemplateEC2, t Template, keepAMI string) (Resolved, error) {
	r := Resolved{AvailabilityZone: AvailabilityZone(t.Region, t.Zone)}
	var found problems
	// Without a zone or a VPC nothing else can be checked.
	if err := found.keep(checkZone(ctx, api, t.Region, r.AvailabilityZone, t.Zone)); err != nil || found.any() {
		return r, found.or(err)
	}
	vpc, err := resolveVPC(ctx, api, t.Region, t.VPCID)
	if err := found.keep(err); err != nil || found.any() {
		return r, found.or(err)
	}
	r.VPCID = vpc
	subnet, err := resolveSubnet(ctx, api, vpc, r.AvailabilityZone, t.SubnetID)
	if err := found.keep(err); err != nil {
		return r, err
	}
	r.SubnetID = subnet
	groups, err := resolveSecurityGroups(ctx, api, vpc, t.SecurityGroups, t.SecurityGroupReadonly)
	if err := found.keep(err); err != nil {
		return r, err
	}
	r.SecurityGroupIDs = map[string]string{}
	for name, g := range groups {
		r.SecurityGroupIDs[name] = "" // NO-OP for the managed group until a pool makes it
		if g != nil {
			r.SecurityGroupIDs[name] = aws.ToString(g.GroupId)
		}
	}
	itype, typeErr := describeInstanceType(ctx, api, t.InstanceType)
	if err := found.keep(typeErr); err != nil {
		return r, err
	}
	if typeErr == nil {
		r.Warnings = append(r.Warnings, sizeWarnings(itype)...)
		if err := found.keep(r.resolveImage(ctx, api, t, itype, keepAMI)); err != nil {
			return r, err
		}
	}
	return r, found.or(nil)
}

// problems collects the template's field errors, so every one is reported at once.
type problems struct{ errs []*FieldError }

// keep takes err's field errors and returns nil for them; any other error (EC2 could not be
// asked) is returned, to stop the check.
func (p *problems) keep(err error) error {
	if fes := FieldErrors(err); len(fes) > 0 {
		p.errs = append(p.errs, fes...)
		return nil
	}
	return err
}

func (p *problems) any() bool { return len(p.errs) > 0 }

// or returns the collected field errors as one *ValidationError, else err.
func (p *problems) or(err error) error {
	if err == nil && len(p.errs) > 0 {
		return &ValidationError{Errs: p.errs}
	}
	return err
}

func checkZone(ctx context.Context, api TemplateEC2, region, az, given string) error {
	out, err := api.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return fmt.Errorf("listing the zones of %s: %w", region, err)
	}
	var names []string
	for _, z := range out.AvailabilityZones {
		if aws.ToString(z.ZoneName) == az {
			return nil
		}
		names = append(names, aws.ToString(z.ZoneName))
	}
	slices.Sort(names)
	return fieldErr("zone", "%q: region %s has no zone %s; its zones are %s", given, region, az, strings.Join(names, ", "))
}

func resolveVPC(ctx context.Context, api TemplateEC2, region, vpcID string) (string, error) {
	in := &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}}
	if vpcID != "" {
		in.Filters = []types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}
	}
	out, err := api.DescribeVpcs(ctx, in)
	if err != nil {
		return "", fmt.Errorf("describing VPCs in %s: %w", region, err)
	}
	if len(out.Vpcs) == 0 {
		if vpcID != "" {
			return "", fieldErr("vpc_id", "%q does not exist in %s for this credential", vpcID, region)
		}
		return "", fieldErr("vpc_id", "region %s has no default VPC: set vpc_id", region)
	}
	return aws.ToString(out.Vpcs[0].VpcId), nil
}

func resolveSubnet(ctx context.Context, api TemplateEC2, vpc, az, subnetID string) (string, error) {
	if subnetID != "" {
		out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{{Name: aws.String("subnet-id"), Values: []string{subnetID}}}})
		if err != nil {
			return "", fmt.Errorf("describing subnet %s: %w", subnetID, err)
		}
		if len(out.Subnets) == 0 {
			return "", fieldErr("subnet_id", "%q does not exist", subnetID)
		}
		s := out.Subnets[0]
		if got := aws.ToString(s.VpcId); got != vpc {
			return "", fieldErr("subnet_id", "%q is in %s, not in the template's VPC %s: pick a subnet of %s, or set vpc_id = %q", subnetID, got, vpc, vpc, got)
		}
		if got := aws.ToString(s.AvailabilityZone); got != az {
			return "", fieldErr("subnet_id", "%q is in zone %s, not in the template's zone %s: set zone = %q, or pick a subnet in %s", subnetID, got, az, got, az)
		}
		return subnetID, nil
	}
	out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
		{Name: aws.String("availability-zone"), Values: []string{az}},
	}})
	if err != nil {
		return "", fmt.Errorf("listing subnets of %s in %s: %w", vpc, az, err)
	}
	if len(out.Subnets) == 0 {
		return "", fieldErr("zone", "%s has no subnet in %s: set subnet_id, or a zone where the VPC has one", vpc, az)
	}
	return pickSubnet(out.Subnets), nil
}

// pickSubnet prefers the zone's default subnet, then the one with most free addresses, then the
// lowest ID, so the choice is stable from one apply to the next.
func pickSubnet(subnets []types.Subnet) string {
	slices.SortFunc(subnets, func(a, b types.Subnet) int {
		if aws.ToBool(a.DefaultForAz) != aws.ToBool(b.DefaultForAz) {
			if aws.ToBool(a.DefaultForAz) {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(aws.ToInt32(b.AvailableIpAddressCount), aws.ToInt32(a.AvailableIpAddressCount)); c != 0 {
			return c
		}
		return strings.Compare(aws.ToString(a.SubnetId), aws.ToString(b.SubnetId))
	})
	return aws.ToString(subnets[0].SubnetId)
}

func resolveSecurityGroups(ctx context.Context, api TemplateEC2, vpc string, groups []string, readonly bool) (map[string]*types.SecurityGroup, error) {
	var ids, names []string
	for _, g := range groups {
		if strings.HasPrefix(g, "sg-") {
			ids = append(ids, g)
		} else {
			names = append(names, g)
		}
	}
	found := map[string]*types.SecurityGroup{}
	var errs []*FieldError
	if len(ids) > 0 {
		out, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-id"), Values: ids}}})
		if err != nil {
			return nil, fmt.Errorf("describing security groups %v: %w", ids, err)
		}
		byID := map[string]types.SecurityGroup{}
		for _, g := range out.SecurityGroups {
			byID[aws.ToString(g.GroupId)] = g
		}
		for _, id := range ids {
			g, ok := byID[id]
			switch {
			case !ok:
				errs = append(errs, fieldErr("security_groups", "%q does not exist", id))
			case aws.ToString(g.VpcId) != vpc:
				errs = append(errs, fieldErr("security_groups", "%q (%s) is in %s, not in the template's VPC %s: nodes can only use groups of their own VPC", id, aws.ToString(g.GroupName), aws.ToString(g.VpcId), vpc))
			default:
				found[id] = &g
			}
		}
	}
	if len(names) > 0 {
		out, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{vpc}},
			{Name: aws.String("group-name"), Values: names},
		}})
		if err != nil {
			return nil, fmt.Errorf("describing security groups %v in %s: %w", names, vpc, err)
		}
		for i := range out.SecurityGroups {
			found[aws.ToString(out.SecurityGroups[i].GroupName)] = &out.SecurityGroups[i]
		}
		for _, n := range names {
			if _, ok := found[n]; ok {
				continue
			}
			switch {
			case n == ManagedSecurityGroup && readonly:
				errs = append(errs, fieldErr("security_groups", "%q does not exist in %s and security_group_readonly forbids creating it: create it first, or drop security_group_readonly", n, vpc))
			case n == ManagedSecurityGroup:
				found[n] = nil // NO-OP: the first node pool creates it
			default:
				errs = append(errs, fieldErr("security_groups", "no group named %q in %s: create it, give its ID, or use %q, which the provider manages", n, vpc, ManagedSecurityGroup))
			}
		}
	}
	if len(errs) > 0 {
		return found, &ValidationError{Errs: errs}
	}
	return found, nil
}

func describeInstanceType(ctx context.Context, api TemplateEC2, name string) (types.InstanceTypeInfo, error) {
	out, err := api.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{types.InstanceType(name)}})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && strings.HasPrefix(apiErr.ErrorCode(), codeInvalidInstanceTypeStart) {
		return types.InstanceTypeInfo{}, fieldErr("instance_type", "%q is not offered in this region: %s", name, apiErr.ErrorMessage())
	}
	if err != nil {
		return types.InstanceTypeInfo{}, fmt.Errorf("describing instance type %s: %w", name, err)
	}
	if len(out.InstanceTypes) == 0 {
		return types.InstanceTypeInfo{}, fieldErr("instance_type", "%q is not offered in this region", name)
	}
	return out.InstanceTypes[0], nil
}

// sizeWarnings says when an instance type is below what RKE2 asks of a node.
func sizeWarnings(it types.InstanceTypeInfo) []string {
	var w []string
	if it.VCpuInfo != nil && aws.ToInt32(it.VCpuInfo.DefaultVCpus) < 2 {
		w = append(w, fmt.Sprintf("instance_type %s has %d vCPU; RKE2 and k3s servers need at least 2", it.InstanceType, aws.ToInt32(it.VCpuInfo.DefaultVCpus)))
	}
	if it.MemoryInfo != nil && aws.ToInt64(it.MemoryInfo.SizeInMiB) < 4096 {
		w = append(w, fmt.Sprintf("instance_type %s has %d MiB of memory; RKE2 servers need at least 4 GiB", it.InstanceType, aws.ToInt64(it.MemoryInfo.SizeInMiB)))
	}
	return w
}

func architectures(it types.InstanceTypeInfo) []string {
	var out []string
	if it.ProcessorInfo != nil {
		for _, a := range it.ProcessorInfo.SupportedArchitectures {
			out = append(out, string(a))
		}
	}
	return out
}

// resolveImage checks the template's AMI, keeps an earlier one, or finds the newest Ubuntu.
func (r *Resolved) resolveImage(ctx context.Context, api TemplateEC2, t Template, it types.InstanceTypeInfo, keepAMI string) error {
	archs := architectures(it)
	candidate, field := t.AMI, "ami"
	if candidate == "" {
		candidate = keepAMI
	}
	if candidate != "" {
		img, err := describeImage(ctx, api, candidate)
		if err != nil {
			return err
		}
		switch {
		case img == nil && t.AMI != "":
			return fieldErr(field, "%q does not exist in %s, or is not shared with this account: AMI IDs differ per region", t.AMI, t.Region)
		case img != nil && !slices.Contains(archs, string(img.Architecture)) && t.AMI != "":
			return fieldErr(field, "%q is a %s image but instance type %s runs %s: pick an AMI or an instance type of the same architecture", t.AMI, img.Architecture, t.InstanceType, strings.Join(archs, "/"))
		case img != nil && slices.Contains(archs, string(img.Architecture)):
			return r.useImage(img, t.RootSize)
		}
		// The kept AMI is gone or no longer fits the instance type: find a new one.
	}
	for _, arch := range archs {
		img, err := newestUbuntu(ctx, api, arch)
		if err != nil {
			return err
		}
		if img != nil {
			return r.useImage(img, t.RootSize)
		}
	}
	return fieldErr("ami", "no Ubuntu 24.04 LTS image from Canonical found in %s for %s (%s): set ami", t.Region, t.InstanceType, strings.Join(archs, "/"))
}

func (r *Resolved) useImage(img *types.Image, rootSize int64) error {
	r.AMI = aws.ToString(img.ImageId)
	r.Architecture = string(img.Architecture)
	for _, bd := range img.BlockDeviceMappings {
		if aws.ToString(bd.DeviceName) == aws.ToString(img.RootDeviceName) && bd.Ebs != nil {
			if min := int64(aws.ToInt32(bd.Ebs.VolumeSize)); min > rootSize {
				return fieldErr("root_size", "%d GiB is smaller than the root snapshot of %s (%d GiB): give at least %d", rootSize, r.AMI, min, min)
			}
		}
	}
	return nil
}

func describeImage(ctx context.Context, api TemplateEC2, id string) (*types.Image, error) {
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("image-id"), Values: []string{id}}}})
	if err != nil {
		return nil, fmt.Errorf("describing image %s: %w", id, err)
	}
	for i := range out.Images {
		if aws.ToString(out.Images[i].ImageId) == id {
			return &out.Images[i], nil
		}
	}
	return nil, nil
}

// ubuntuArch maps EC2 architectures to the names in Ubuntu image names.
var ubuntuArch = map[string]string{"x86_64": "amd64", "arm64": "arm64"}

func newestUbuntu(ctx context.Context, api TemplateEC2, arch string) (*types.Image, error) {
	ua, ok := ubuntuArch[arch]
	if !ok {
		return nil, nil
	}
	out, err := api.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Owners: []string{UbuntuOwner},
		Filters: []types.Filter{
			{Name: aws.String("name"), Values: []string{"ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-" + ua + "-server-*"}},
			{Name: aws.String("architecture"), Values: []string{arch}},
			{Name: aws.String("state"), Values: []string{"available"}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("looking up Ubuntu 24.04 images for %s: %w", arch, err)
	}
	if len(out.Images) == 0 {
		return nil, nil
	}
	imgs := out.Images
	slices.SortFunc(imgs, func(a, b types.Image) int {
		if c := strings.Compare(aws.ToString(b.CreationDate), aws.ToString(a.CreationDate)); c != 0 {
			return c
		}
		return strings.Compare(aws.ToString(a.ImageId), aws.ToString(b.ImageId))
	})
	return &imgs[0], nil
}
