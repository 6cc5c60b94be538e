package contract

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// iamMoto is a moto that enforces IAM after the admin user is made (the first three requests
// are free), and the admin's keys.
type iamMoto struct {
	*acctest.Moto
	adminKey, adminSecret string
}

func startIAMMoto(t *testing.T) *iamMoto {
	t.Helper()
	acctest.SkipUnlessAcc(t)
	acctest.IsolateAWSEnv(t)
	opts := acctest.DefaultMotoOptions()
	opts.Env = append(opts.Env, "INITIAL_NO_AUTH_ACTION_COUNT=3")
	m, err := acctest.StartMoto(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	ctx := context.Background()
	c := iamClient(m.URL, acctest.AccessKey, acctest.SecretKey)
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
	return &iamMoto{Moto: m, adminKey: aws.ToString(key.AccessKey.AccessKeyId), adminSecret: aws.ToString(key.AccessKey.SecretAccessKey)}
}

// vpc makes a VPC with a subnet in us-west-2a, as the admin.
func (m *iamMoto) vpc(t *testing.T, cidr string) string {
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

// userWithPolicy makes an IAM user holding only doc and returns its keys.
func (m *iamMoto) userWithPolicy(t *testing.T, name, doc string) (string, string) {
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

// provisioningPolicy is what data.ec2k8s_iam_policy emits for the default flow, with every
// Resource widened to "*" (moto checks EC2 actions against "*"), minus the actions in drop.
func provisioningPolicy(t *testing.T, drop ...string) string {
	t.Helper()
	docs, err := iampolicy.Build(iampolicy.Params{Region: "us-west-2", AccountID: acctest.AccountID})
	if err != nil {
		t.Fatal(err)
	}
	doc := docs.Provisioning
	var kept []iampolicy.Statement
	for _, s := range doc.Statement {
		s.Resource = iampolicy.Values{"*"}
		var actions iampolicy.Values
		for _, a := range s.Action {
			if !contains(drop, a) {
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lifecycle runs what a pool does in its life with one set of keys: check a template, create
// 2 nodes, scale to 3, roll them to a new spec, scale to 1, delete. It returns the first error.
func lifecycle(ctx context.Context, url, key, secret, vpc, name string) error {
	settings := awsclient.Settings{Endpoints: awsclient.Endpoints{EC2: url, STS: url, IAM: url}, MaxRetries: 2}
	creds := awsclient.Credentials{Region: "us-west-2", AccessKey: key, SecretKey: secret}
	if _, err := settings.Identity(ctx, creds); err != nil {
		return err
	}
	cfg, err := settings.Config(ctx, creds)
	if err != nil {
		return err
	}
	client := &provisioning.Client{EC2: settings.EC2(cfg, nil), Poll: 10 * time.Millisecond}
	res, err := provisioning.ResolveTemplate(ctx, client.EC2, provisioning.Template{Region: "us-west-2", Zone: "a", VPCID: vpc,
		SecurityGroups: []string{provisioning.ManagedSecurityGroup}, InstanceType: "t3.medium", RootSize: 32}, "")
	if err != nil {
		return err
	}
	sshKey, err := bootstrap.NewSSHKey(rand.Reader, "iam")
	if err != nil {
		return err
	}
	pool := provisioning.Pool{Cluster: "iam", Name: name, HostnamePrefix: "iam-pool-", Roles: provisioning.Roles{Worker: true},
		KeyPairName: "ec2k8s-iam-" + name, PublicKey: sshKey.AuthorizedKey,
		Launch: provisioning.LaunchSpec{Region: "us-west-2", AvailabilityZone: res.AvailabilityZone, VPCID: res.VPCID, SubnetID: res.SubnetID,
			SecurityGroups: []string{provisioning.ManagedSecurityGroup}, AMI: res.AMI, InstanceType: "t3.medium", RootSize: 32,
			VolumeType: "gp3", Encrypted: true, HTTPTokens: "required", HopLimit: 1},
		UserData: func(int) ([]byte, error) { return []byte("#cloud-config\n"), nil },
	}
	var nodes []provisioning.Node
	next := 0
	for _, step := range []struct {
		quantity int
		spec     string
	}{{2, "a"}, {3, "a"}, {3, "b"}, {1, "b"}} {
		pool.Quantity, pool.Spec, pool.NextIndex = step.quantity, step.spec, next
		if nodes, next, err = client.Reconcile(ctx, pool, nodes); err != nil {
			return err
		}
		if len(nodes) != step.quantity {
			return fmt.Errorf("%d nodes after reconciling to %d", len(nodes), step.quantity)
		}
	}
	return client.DeletePool(ctx, pool)
}

// TestIAM_provisioningPolicySuffices: the whole pool lifecycle runs as a user holding only the
// emitted policy.
func TestIAM_provisioningPolicySuffices(t *testing.T) {
	m := startIAMMoto(t)
	key, secret := m.userWithPolicy(t, "provisioner", provisioningPolicy(t))
	if err := lifecycle(context.Background(), m.URL, key, secret, m.vpc(t, "10.10.0.0/24"), "pool"); err != nil {
		t.Fatalf("lifecycle under the emitted policy: %v", err)
	}
}

// TestIAM_everyCalledActionIsNeeded: with any one action the client calls removed, the
// lifecycle fails, and the error names that action.
func TestIAM_everyCalledActionIsNeeded(t *testing.T) {
	m := startIAMMoto(t)
	seen := map[string]bool{}
	cidr := 20
	for _, a := range iampolicy.Actions() {
		if a.Feature != iampolicy.Base || a.SeedOnly || a.Implicit {
			continue
		}
		drop := a.Name
		if a.Grant != "" {
			drop = a.Grant // ec2:Describe* goes as a whole, as it is granted
		}
		if seen[drop] {
			continue
		}
		seen[drop] = true
		t.Run(drop, func(t *testing.T) {
			user := "without-" + strings.NewReplacer(":", "-", "*", "all").Replace(drop)
			key, secret := m.userWithPolicy(t, user, provisioningPolicy(t, drop))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// A VPC and a pool of its own: nothing another case made may stand in for a call.
			cidr++
			err := lifecycle(ctx, m.URL, key, secret, m.vpc(t, fmt.Sprintf("10.%d.0.0/24", cidr)), fmt.Sprintf("pool%d", cidr))
			if err == nil {
				t.Fatalf("the lifecycle succeeded without %s: the registry declares an action the client does not need", drop)
			}
			want := strings.TrimSuffix(drop, "*")
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error without %s does not name it: %v", drop, err)
			}
			if os.Getenv("EC2K8S_VERBOSE") != "" {
				t.Logf("without %s: %v", drop, err)
			}
		})
	}
}
