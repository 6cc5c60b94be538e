package acctest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

// IAMMoto is a moto that enforces IAM after the admin user is made (the first three requests
// are free), and the admin's keys.
type IAMMoto struct {
	*Moto
	adminKey, adminSecret string
}

// StartIAMMoto starts an IAM-enforcing moto for one test; the test should not run in parallel.
func StartIAMMoto(t *testing.T) *IAMMoto {
	t.Helper()
	SkipUnlessAcc(t)
	IsolateAWSEnv(t)
	opts := DefaultMotoOptions()
	opts.Env = append(opts.Env, "INITIAL_NO_AUTH_ACTION_COUNT=3")
	m, err := StartMoto(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	ctx := context.Background()
	c := iamClient(m.URL, AccessKey, SecretKey)
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("admin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("admin"), PolicyName: aws.String("all"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("admin")})
	if err != nil {
		t.Fatal(err)
	}
	im := &IAMMoto{Moto: m, adminKey: aws.ToString(key.AccessKey.AccessKeyId), adminSecret: aws.ToString(key.AccessKey.SecretAccessKey)}
	// Now that moto enforces IAM, the proxy's own look-ups need keys it knows and allows.
	m.Strict.SetCredentials(credentials.NewStaticCredentialsProvider(im.adminKey, im.adminSecret, ""))
	return im
}

// VPC makes a VPC with a subnet in us-west-2a, as the admin.
func (m *IAMMoto) VPC(t *testing.T, cidr string) string {
	t.Helper()
	c := ec2.New(ec2.Options{Region: "us-west-2", BaseEndpoint: aws.String(m.URL), Credentials: credentials.NewStaticCredentialsProvider(m.adminKey, m.adminSecret, "")})
	v, err := c.CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSubnet(context.Background(), &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(cidr), AvailabilityZone: aws.String("us-west-2a")}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(v.Vpc.VpcId)
}

func iamClient(url, key, secret string) *iam.Client {
	return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
}

// UserWithPolicy makes an IAM user holding only doc and returns its keys.
func (m *IAMMoto) UserWithPolicy(t *testing.T, name, doc string) (string, string) {
	t.Helper()
	ctx := context.Background()
	c := iamClient(m.URL, m.adminKey, m.adminSecret)
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("provisioner"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatalf("policy for %s: %v", name, err)
	}
	key, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)
}

// ProvisioningPolicy is what data.ec2k8s_iam_policy emits for the default flow, with every
// Resource widened to "*" (moto checks EC2 actions against "*"), minus the actions in drop.
func ProvisioningPolicy(t *testing.T, drop ...string) string {
	t.Helper()
	docs, err := iampolicy.Build(iampolicy.Params{Region: "us-west-2", AccountID: AccountID})
	if err != nil {
		t.Fatal(err)
	}
	doc := docs.Provisioning
	var kept []iampolicy.Statement
	for _, s := range doc.Statement {
		s.Resource = iampolicy.Values{"*"}
		var actions iampolicy.Values
		for _, a := range s.Action {
			if !slices.Contains(drop, a) {
				actions = append(actions, a)
			}
		}
		if len(actions) > 0 {
			s.Action = actions
			kept = append(kept, s)
		}
	}
	doc.Statement = kept
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
