package acctest

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// EC2 returns an EC2 client on moto for region, for fixtures and checks.
func EC2(m *Moto, region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(m.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// DirectEC2 is an EC2 client on moto itself, past the strict proxy: what a test reads back is
// moto's truth, neither delayed by the proxy's lag nor counted among its answers.
func DirectEC2(m *Moto, region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(m.DirectURL),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// TagValue returns the value of the tag key among tags, or "" when there is none.
func TagValue(tags []types.Tag, key string) string {
	for _, tag := range tags {
		if aws.ToString(tag.Key) == key {
			return aws.ToString(tag.Value)
		}
	}
	return ""
}

// DefaultVPC returns the ID of moto's default VPC in region.
func DefaultVPC(t *testing.T, c *ec2.Client) string {
	t.Helper()
	out, err := c.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{Filters: []types.Filter{{Name: aws.String("is-default"), Values: []string{"true"}}}})
	if err != nil {
		t.Fatalf("default VPC: %v", err)
	}
	if len(out.Vpcs) == 0 {
		t.Fatal("moto has no default VPC")
	}
	return aws.ToString(out.Vpcs[0].VpcId)
}

// DefaultSubnet returns the default subnet of the default VPC in zone.
func DefaultSubnet(t *testing.T, c *ec2.Client, zone string) string {
	t.Helper()
	out, err := c.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{Filters: []types.Filter{
		{Name: aws.String("default-for-az"), Values: []string{"true"}},
		{Name: aws.String("availability-zone"), Values: []string{zone}},
	}})
	if err != nil {
		t.Fatalf("default subnet in %s: %v", zone, err)
	}
	if len(out.Subnets) == 0 {
		t.Fatalf("moto has no default subnet in %s", zone)
	}
	return aws.ToString(out.Subnets[0].SubnetId)
}

// CreateVPC makes a VPC with one subnet in zone and one security group, and returns their IDs.
func CreateVPC(t *testing.T, c *ec2.Client, cidr, zone, group string) (vpc, subnet, sg string) {
	t.Helper()
	ctx := context.Background()
	v, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatal(err)
	}
	vpc = aws.ToString(v.Vpc.VpcId)
	s, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String(group), Description: aws.String("acceptance test fixture")})
	if err != nil {
		t.Fatal(err)
	}
	return vpc, aws.ToString(s.Subnet.SubnetId), aws.ToString(g.GroupId)
}

// CheckNothingCreated is a CheckDestroy for resources that must leave nothing on AWS: it asks
// moto for instances, key pairs and the managed security group in region.
func CheckNothingCreated(m *Moto, region string) func(*terraform.State) error {
	return func(*terraform.State) error {
		ctx := context.Background()
		c := EC2(m, region)
		inst, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
		if err != nil {
			return err
		}
		if n := len(inst.Reservations); n > 0 {
			return fmt.Errorf("%d reservations exist on moto; want none", n)
		}
		kp, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{})
		if err != nil {
			return err
		}
		if n := len(kp.KeyPairs); n > 0 {
			return fmt.Errorf("%d key pairs exist on moto; want none", n)
		}
		sg, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("group-name"), Values: []string{"rancher-nodes"}}}})
		if err != nil {
			return err
		}
		if n := len(sg.SecurityGroups); n > 0 {
			return fmt.Errorf("rancher-nodes exists on moto; a template must create nothing")
		}
		return nil
	}
}

// CredentialConfig is an ec2k8s_cloud_credential named name with static keys.
func CredentialConfig(name, region, accessKey, secretKey string) string {
	return fmt.Sprintf(`
resource "ec2k8s_cloud_credential" %[1]q {
  name       = %[1]q
  region     = %[2]q
  access_key = %[3]q
  secret_key = %[4]q
}
`, name, region, accessKey, secretKey)
}
