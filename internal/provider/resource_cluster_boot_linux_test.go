//go:build linux

package provider

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/nodesandbox"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// TestAccCluster_seedTopologyBoots applies the seed topology (etcd ×3, control plane ×2,
// workers ×2) through the CLI against moto, for RKE2 and for k3s, then boots every instance's
// user data with real cloud-init in the node sandbox, each with its own instance metadata, and
// checks the cluster they would form: exactly one node starts it, every other joins as its role
// says, with the role flags, version, CNI and labels of its pool, the secrets of its role only,
// and tokens whose CA hash is the root CA's.
func TestAccCluster_seedTopologyBoots(t *testing.T) {
	for _, dist := range bootstrap.Distributions {
		t.Run(dist, func(t *testing.T) { seedTopologyBoots(t, dist) })
	}
}

func seedTopologyBoots(t *testing.T, dist string) {
	moto, cli := cliOnMoto(t)
	pools := ""
	for _, p := range []struct {
		name  string
		n     int
		roles []string
	}{{"etcd", 3, []string{"etcd"}}, {"cp", 2, []string{"control_plane"}}, {"workers", 2, []string{"worker"}}} {
		pools += poolHCL(p.name, p.n, p.roles...)
	}
	cli.Write(acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
  node_labels      = { "example.com/tier" = "core" }
}

resource "ec2k8s_cluster" "demo" {
  name               = "demo"
  cloud_credential   = ec2k8s_cloud_credential.aws
  distribution       = "` + dist + `"
  install_script_url = "` + nodesandbox.InstallerURL + `"
}
` + pools)
	t.Cleanup(func() { destroyAndCheck(t, cli, moto) })
	cli.Apply()
	secrets := cli.StateResource("ec2k8s_cluster.demo").AttributeValues["secrets"].(string)
	pki, err := bootstrap.DecodePKI(secrets)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(pki.Root.Cert))
	sum := sha256.Sum256(block.Bytes)
	rootHash := hex.EncodeToString(sum[:])

	instances := clusterInstances(t, moto)
	if len(instances) != 7 {
		t.Fatalf("%d instances; want 7", len(instances))
	}
	ipsOf := map[string][]string{} // pool → private IPs
	for _, i := range instances {
		ipsOf[acctest.TagValue(i.Tags, provisioning.TagPool)] = append(ipsOf[acctest.TagValue(i.Tags, provisioning.TagPool)], aws.ToString(i.PrivateIpAddress))
	}
	confDir := "/etc/rancher/" + dist
	port := map[string]string{"rke2": "9345", "k3s": "6443"}[dist]
	var mu sync.Mutex
	inits := 0
	var wg sync.WaitGroup
	for _, inst := range instances {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, id := acctest.TagValue(inst.Tags, provisioning.TagPool), aws.ToString(inst.InstanceId)
			r := nodesandbox.Boot(t, nodesandbox.Node{UserData: userData(t, moto, id), Metadata: nodesandbox.Metadata{
				InstanceID: id, AMILaunchIndex: int(aws.ToInt32(inst.AmiLaunchIndex)), LocalIPv4: aws.ToString(inst.PrivateIpAddress),
				PublicIPv4: aws.ToString(inst.PublicIpAddress), AvailabilityZone: aws.ToString(inst.Placement.AvailabilityZone)}})
			if !r.Status.OK() {
				t.Errorf("%s (%s): cloud-init %s\n%s", id, pool, r.Summary(), r.OutputLog)
				return
			}
			if name := acctest.TagValue(inst.Tags, provisioning.TagName); r.Hostname != name {
				t.Errorf("%s booted as %q; EC2 names it %q", id, r.Hostname, name)
			}
			conf, err := nodesandbox.MergedConfig(r, confDir)
			if err != nil {
				t.Error(err)
				return
			}
			get := func(k string) string { return fmt.Sprint(conf[k]) }
			server, _ := conf["server"].(string)
			keys := 0
			for _, f := range r.Files {
				secret := strings.Contains(string(f.Content), "PRIVATE KEY") || strings.Contains(string(f.Content), pki.AgentToken)
				if secret && f.Mode.Perm()&0o077 != 0 {
					t.Errorf("%s: %s holds a secret with mode %v", id, f.Path, f.Mode.Perm())
				}
				// cloud-init's own copies of the user data are not files the node was given
				if !strings.HasPrefix(f.Path, "/var/lib/cloud/") && !strings.HasPrefix(f.Path, "/run/cloud-init/") &&
					strings.Contains(string(f.Content), "PRIVATE KEY") {
					keys++
				}
			}
			token, _ := conf["token"].(string)
			if !strings.HasPrefix(token, "K10"+rootHash+"::") {
				t.Errorf("%s: token %q does not carry the root CA's hash", id, token)
			}
			if conf["node-name"] != r.Hostname || conf["node-label"] == nil || !strings.Contains(get("node-label"), "example.com/tier=core") {
				t.Errorf("%s: node-name %v, node-label %v", id, conf["node-name"], conf["node-label"])
			}
			joinsVia := func(pools ...string) {
				host := strings.TrimSuffix(strings.TrimPrefix(server, "https://"), ":"+port)
				for _, p := range pools {
					if slices.Contains(ipsOf[p], host) && host != aws.ToString(inst.PrivateIpAddress) {
						return
					}
				}
				t.Errorf("%s (%s) joins through %q; want a node of %v on %s", id, pool, server, pools, port)
			}
			switch {
			case pool == "etcd" && server == "":
				mu.Lock()
				inits++
				mu.Unlock()
				if keys != len(bootstrap.CAFileNames)+1 || token != pki.ServerToken || (dist == "k3s" && conf["cluster-init"] != true) {
					t.Errorf("init node %s: %d keys, server token %v, cluster-init %v", id, keys, token == pki.ServerToken, conf["cluster-init"])
				}
			case pool == "etcd" || pool == "cp":
				joinsVia("etcd")
				if keys != 0 || token != pki.ServerToken || conf["agent-token"] != pki.AgentToken {
					t.Errorf("server %s (%s): %d keys, server token %v, agent token %v", id, pool, keys, token == pki.ServerToken, conf["agent-token"] == pki.AgentToken)
				}
			default:
				joinsVia("cp")
				if keys != 0 || token != pki.AgentToken || conf["agent-token"] != nil {
					t.Errorf("agent %s: %d keys, token is the agent token %v, agent-token %v", id, keys, token == pki.AgentToken, conf["agent-token"])
				}
			}
			if (pool == "etcd") != (conf["disable-apiserver"] == true) || (pool == "cp") != (conf["disable-etcd"] == true) {
				t.Errorf("%s (%s): disable-apiserver %v, disable-etcd %v", id, pool, conf["disable-apiserver"], conf["disable-etcd"])
			}
			// The CNI of the cluster's default network_plugin (canal): RKE2's cni; k3s runs its own
			// flannel, so no flannel-backend is written (none would turn it off).
			if dist == "rke2" && pool != "workers" && conf["cni"] != "canal" {
				t.Errorf("%s: cni %v; want canal", id, conf["cni"])
			}
			if dist == "k3s" && (conf["cni"] != nil || conf["flannel-backend"] != nil) {
				t.Errorf("%s: cni %v, flannel-backend %v; want k3s's own flannel", id, conf["cni"], conf["flannel-backend"])
			}
			service := map[string]string{"rke2": "rke2-agent.service", "k3s": "k3s-agent.service"}[dist]
			if pool != "workers" {
				service = map[string]string{"rke2": "rke2-server.service", "k3s": "k3s.service"}[dist]
			}
			if !slices.ContainsFunc(r.CallsTo("systemctl"), func(c []string) bool { return slices.Equal(c, []string{"enable", "--now", service}) }) {
				t.Errorf("%s (%s): systemctl calls %v; want enable --now %s", id, pool, r.CallsTo("systemctl"), service)
			}
			var install *nodesandbox.Install
			for i := range r.Installs {
				install = &r.Installs[i]
			}
			version := map[string]string{"rke2": "INSTALL_RKE2_VERSION", "k3s": "INSTALL_K3S_VERSION"}[dist]
			if install == nil || install.Env[version] != bootstrap.DefaultVersion(dist) {
				t.Errorf("%s: the installer ran with %v; want %s=%s", id, install, version, bootstrap.DefaultVersion(dist))
			}
		}()
	}
	wg.Wait()
	if inits != 1 {
		t.Errorf("%d nodes start the cluster; want exactly 1", inits)
	}
}

func clusterInstances(t *testing.T, m *acctest.Moto) []ec2types.Instance {
	t.Helper()
	return acctest.Instances(t, m, "us-west-2", acctest.TagFilter(provisioning.TagCluster, "demo"), acctest.StateFilter("pending", "running"))
}

// userData is an instance's user data as EC2 gives it to the node (gzip and all).
func userData(t *testing.T, m *acctest.Moto, id string) []byte {
	t.Helper()
	out, err := acctest.EC2(m, "us-west-2").DescribeInstanceAttribute(context.Background(), &ec2.DescribeInstanceAttributeInput{
		InstanceId: aws.String(id), Attribute: ec2types.InstanceAttributeNameUserData})
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.StdEncoding.DecodeString(aws.ToString(out.UserData.Value))
	if err != nil {
		t.Fatal(err)
	}
	if zr, err := gzip.NewReader(bytes.NewReader(b)); err == nil {
		if plain, err := io.ReadAll(zr); err == nil && len(plain) == 0 {
			t.Fatalf("%s: empty user data", id)
		}
	}
	return b
}
