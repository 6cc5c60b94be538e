package provider

import (
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
)

// TestAccCluster_logsNoSecret applies a cluster and its pools (the init node's user data carries
// the CA keys, every server's the tokens) with TRACE logging, then looks for every secret of the
// cluster's CA set in every log entry: the tokens (and their secret parts), the CA and service
// keys. None may appear, in the provider's entries, the framework's or the CLI's.
func TestAccCluster_logsNoSecret(t *testing.T) {
	moto := acctest.SharedMoto(t)
	logFile := t.TempDir() + "/trace.log"
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	t.Setenv("TF_LOG", "TRACE")
	var pki *bootstrap.PKI
	testAccRun(t, []resource.TestStep{{
		Config: clusterConfig(moto, "", poolHCL("workers", 1, "worker")),
		Check: func(s *terraform.State) error {
			r := s.RootModule().Resources[clusterAddr]
			if r == nil {
				return fmt.Errorf("%s is not in the state", clusterAddr)
			}
			p, err := bootstrap.DecodePKI(r.Primary.Attributes["secrets"])
			pki = p
			return err
		},
	}})
	if pki == nil {
		t.Fatal("no CA set to look for")
	}
	secrets := map[string]string{"server token": pki.ServerToken, "agent token": pki.AgentToken,
		"server token's secret": pki.ServerToken[strings.LastIndex(pki.ServerToken, ":")+1:],
		"agent token's secret":  pki.AgentToken[strings.LastIndex(pki.AgentToken, ":")+1:]}
	for name, key := range map[string]string{"root CA key": pki.Root.Key, "intermediate CA key": pki.Intermediate.Key,
		"server CA key": pki.ServerCA.Key, "client CA key": pki.ClientCA.Key, "request-header CA key": pki.RequestHeaderCA.Key,
		"etcd peer CA key": pki.EtcdPeerCA.Key, "etcd server CA key": pki.EtcdServerCA.Key, "service key": pki.ServiceKey} {
		block, _ := pem.Decode([]byte(key))
		if block == nil {
			t.Fatalf("the %s is not PEM", name)
		}
		// The key's body as PEM writes it, and its first line (64 characters of base64) alone, in
		// case an entry wraps or cuts it.
		body := strings.TrimSpace(strings.SplitN(strings.SplitN(key, "-----\n", 2)[1], "\n-----END", 2)[0])
		secrets[name] = strings.SplitN(body, "\n", 2)[0]
	}
	entries := acctest.ParseLog(acctest.ReadFile(t, logFile))
	provider := 0
	for _, e := range entries {
		if e.Logger == "ec2k8s" {
			provider++
		}
	}
	if len(entries) < 100 || provider == 0 {
		t.Fatalf("the TRACE log has %d entries, %d of the provider's; logging did not reach %s", len(entries), provider, logFile)
	}
	for _, e := range entries {
		for name, secret := range secrets {
			if strings.Contains(e.Text, secret) {
				t.Errorf("a %q log entry contains the cluster's %s:\n%.300s", e.Logger, name, e.Text)
			}
		}
		if strings.Contains(e.Text, "PRIVATE KEY") {
			t.Errorf("a %q log entry contains a private key:\n%.300s", e.Logger, e.Text)
		}
	}
}
