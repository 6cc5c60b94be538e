package contract

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/awsclient"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

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
	pool := testPool(res, "iam", name, acctest.PublicKey(2, "iam"))
	if _, _, err := reconcile(ctx, client, seedPool(pool), nil); err != nil {
		return err
	}
	var nodes []provisioning.Node
	next := 0
	for _, step := range []struct {
		quantity int
		spec     string
	}{{2, "a"}, {3, "a"}, {3, "b"}, {1, "b"}} {
		pool = withSpec(pool, step.spec)
		pool.Quantity, pool.NextIndex = step.quantity, next
		if nodes, next, err = reconcile(ctx, client, pool, nodes); err != nil {
			return err
		}
		if len(nodes) != step.quantity {
			return fmt.Errorf("%d nodes after reconciling to %d", len(nodes), step.quantity)
		}
	}
	if err := client.DeletePool(ctx, pool.Cluster, pool.Name); err != nil {
		return err
	}
	return client.DeletePool(ctx, pool.Cluster, "seed")
}

// TestIAM_provisioningPolicySuffices: the whole pool lifecycle runs as a user holding only the
// emitted policy.
func TestIAM_provisioningPolicySuffices(t *testing.T) {
	m := acctest.StartIAMMoto(t)
	key, secret := m.UserWithPolicy(t, "provisioner", acctest.ProvisioningPolicy(t))
	if err := lifecycle(context.Background(), m.URL, key, secret, m.VPC(t, "10.10.0.0/24"), "pool"); err != nil {
		t.Fatalf("lifecycle under the emitted policy: %v", err)
	}
}

// TestIAM_everyCalledActionIsNeeded: with any one action the client calls removed, the
// lifecycle fails, and the error names that action.
func TestIAM_everyCalledActionIsNeeded(t *testing.T) {
	m := acctest.StartIAMMoto(t)
	seen := map[string]bool{}
	cidr := 20
	for _, a := range iampolicy.Actions() {
		if a.Feature != iampolicy.Base || a.SeedOnly {
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
			key, secret := m.UserWithPolicy(t, user, acctest.ProvisioningPolicy(t, drop))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// A VPC and a pool of its own: nothing another case made may stand in for a call.
			cidr++
			err := lifecycle(ctx, m.URL, key, secret, m.VPC(t, fmt.Sprintf("10.%d.0.0/24", cidr)), fmt.Sprintf("pool%d", cidr))
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
