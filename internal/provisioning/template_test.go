package provisioning

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// fakeEC2 serves a small fixed region, us-west-2, and counts calls by operation. Filters are
// matched on the few names ResolveTemplate uses.
type fakeEC2 struct {
	vpcs    []types.Vpc
	subnets []types.Subnet
	groups  []types.SecurityGroup
	images  []types.Image
	calls   map[string]int
}

func newFake() *fakeEC2 {
	return &fakeEC2{
		calls: map[string]int{},
		vpcs:  []types.Vpc{{VpcId: aws.String("vpc-00000001"), IsDefault: aws.Bool(true)}, {VpcId: aws.String("vpc-00000002")}},
		subnets: []types.Subnet{
			{SubnetId: aws.String("subnet-0000000b"), VpcId: aws.String("vpc-00000001"), AvailabilityZone: aws.String("us-west-2a"), AvailableIpAddressCount: aws.Int32(10)},
			{SubnetId: aws.String("subnet-0000000a"), VpcId: aws.String("vpc-00000001"), AvailabilityZone: aws.String("us-west-2a"), AvailableIpAddressCount: aws.Int32(10)},
			{SubnetId: aws.String("subnet-0000000c"), VpcId: aws.String("vpc-00000001"), AvailabilityZone: aws.String("us-west-2a"), AvailableIpAddressCount: aws.Int32(5), DefaultForAz: aws.Bool(false)},
			{SubnetId: aws.String("subnet-000000b1"), VpcId: aws.String("vpc-00000001"), AvailabilityZone: aws.String("us-west-2b"), AvailableIpAddressCount: aws.Int32(10)},
		},
		groups: []types.SecurityGroup{{GroupId: aws.String("sg-00000002"), GroupName: aws.String("other"), VpcId: aws.String("vpc-00000002")}},
		images: []types.Image{
			{ImageId: aws.String("ami-00000001"), Architecture: types.ArchitectureValuesX8664, CreationDate: aws.String("2024-04-23T00:00:00.000Z")},
			{ImageId: aws.String("ami-00000002"), Architecture: types.ArchitectureValuesX8664, CreationDate: aws.String("2025-01-15T00:00:00.000Z")},
		},
	}
}

func filterValues(fs []types.Filter, name string) []string {
	for _, f := range fs {
		if aws.ToString(f.Name) == name {
			return f.Values
		}
	}
	return nil
}

func matches(vals []string, v string) bool { return vals == nil || slices.Contains(vals, v) }

func (f *fakeEC2) DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	f.calls["DescribeAvailabilityZones"]++
	return &ec2.DescribeAvailabilityZonesOutput{AvailabilityZones: []types.AvailabilityZone{{ZoneName: aws.String("us-west-2a")}, {ZoneName: aws.String("us-west-2b")}}}, nil
}

func (f *fakeEC2) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	f.calls["DescribeVpcs"]++
	out := &ec2.DescribeVpcsOutput{}
	for _, v := range f.vpcs {
		if matches(filterValues(in.Filters, "vpc-id"), aws.ToString(v.VpcId)) &&
			(filterValues(in.Filters, "is-default") == nil || aws.ToBool(v.IsDefault)) {
			out.Vpcs = append(out.Vpcs, v)
		}
	}
	return out, nil
}

func (f *fakeEC2) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	f.calls["DescribeSubnets"]++
	out := &ec2.DescribeSubnetsOutput{}
	for _, s := range f.subnets {
		if matches(filterValues(in.Filters, "subnet-id"), aws.ToString(s.SubnetId)) && matches(filterValues(in.Filters, "vpc-id"), aws.ToString(s.VpcId)) &&
			matches(filterValues(in.Filters, "availability-zone"), aws.ToString(s.AvailabilityZone)) {
			out.Subnets = append(out.Subnets, s)
		}
	}
	return out, nil
}

func (f *fakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.calls["DescribeSecurityGroups"]++
	out := &ec2.DescribeSecurityGroupsOutput{}
	for _, g := range f.groups {
		if matches(filterValues(in.Filters, "group-id"), aws.ToString(g.GroupId)) && matches(filterValues(in.Filters, "group-name"), aws.ToString(g.GroupName)) &&
			matches(filterValues(in.Filters, "vpc-id"), aws.ToString(g.VpcId)) {
			out.SecurityGroups = append(out.SecurityGroups, g)
		}
	}
	return out, nil
}

func (f *fakeEC2) DescribeInstanceTypes(_ context.Context, in *ec2.DescribeInstanceTypesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstanceTypesOutput, error) {
	f.calls["DescribeInstanceTypes"]++
	vcpu, mem := int32(2), int64(4096)
	if in.InstanceTypes[0] == "t3.micro" {
		vcpu, mem = 2, 1024
	}
	return &ec2.DescribeInstanceTypesOutput{InstanceTypes: []types.InstanceTypeInfo{{
		InstanceType:  in.InstanceTypes[0],
		ProcessorInfo: &types.ProcessorInfo{SupportedArchitectures: []types.ArchitectureType{types.ArchitectureTypeX8664}},
		VCpuInfo:      &types.VCpuInfo{DefaultVCpus: aws.Int32(vcpu)},
		MemoryInfo:    &types.MemoryInfo{SizeInMiB: aws.Int64(mem)},
	}}}, nil
}

func (f *fakeEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.calls["DescribeImages"]++
	out := &ec2.DescribeImagesOutput{}
	for _, i := range f.images {
		if matches(filterValues(in.Filters, "image-id"), aws.ToString(i.ImageId)) {
			out.Images = append(out.Images, i)
		}
	}
	return out, nil
}

func baseTemplate() Template {
	return Template{Region: "us-west-2", Zone: "a", SecurityGroups: []string{ManagedSecurityGroup}, InstanceType: "t3.medium", RootSize: 32}
}

func TestResolveTemplate_defaults(t *testing.T) {
	f := newFake()
	r, err := ResolveTemplate(context.Background(), f, baseTemplate(), "")
	if err != nil {
		t.Fatal(err)
	}
	// Equal free addresses: the lowest ID wins, whatever order EC2 returns them in.
	if r.VPCID != "vpc-00000001" || r.SubnetID != "subnet-0000000a" || r.AMI != "ami-00000002" || r.AvailabilityZone != "us-west-2a" {
		t.Errorf("Resolved = %+v", r)
	}
	if id, ok := r.SecurityGroupIDs[ManagedSecurityGroup]; !ok || id != "" {
		t.Errorf("the managed group should be accepted without an ID; got %q, %v", id, ok)
	}
	total := 0
	for _, n := range f.calls {
		total += n
	}
	if total > 7 {
		t.Errorf("%d EC2 calls to resolve a template (%v); want at most 7", total, f.calls)
	}
}

func TestResolveTemplate_keepsAMIUntilGone(t *testing.T) {
	f := newFake()
	r, err := ResolveTemplate(context.Background(), f, baseTemplate(), "ami-00000001")
	if err != nil || r.AMI != "ami-00000001" {
		t.Fatalf("kept AMI: %q, %v; want ami-00000001", r.AMI, err)
	}
	r, err = ResolveTemplate(context.Background(), f, baseTemplate(), "ami-0000dead")
	if err != nil || r.AMI != "ami-00000002" {
		t.Fatalf("gone AMI: %q, %v; want the newest, ami-00000002", r.AMI, err)
	}
}

func TestResolveTemplate_reportsAllProblems(t *testing.T) {
	f := newFake()
	tmpl := baseTemplate()
	tmpl.SubnetID = "subnet-000000b1"
	tmpl.SecurityGroups = []string{"sg-00000002", "web"}
	tmpl.AMI = "ami-0000dead"
	tmpl.InstanceType = "t3.micro"
	r, err := ResolveTemplate(context.Background(), f, tmpl, "")
	fields := map[string]int{}
	for _, fe := range FieldErrors(err) {
		fields[fe.Field]++
	}
	if fields["subnet_id"] != 1 || fields["security_groups"] != 2 || fields["ami"] != 1 {
		t.Errorf("field errors = %v (%v); want subnet_id, two security_groups and ami", fields, err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "1024 MiB") {
		t.Errorf("Warnings = %v; want one about memory", r.Warnings)
	}
}
