//go:build unix

package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// The node template's tests that need the CLI harness (see resource_node_pool_cli_test.go).

// TestAccNodeTemplate_ruleQuotaWarning: a template whose own rules on the managed group come
// close to EC2's default quota of 60 per address family gets a warning at plan time (the
// apply-time check against the live group is TestEC2_ruleQuota). Warnings only show in the
// CLI's output, hence the CLI harness.
func TestAccNodeTemplate_ruleQuotaWarning(t *testing.T) {
	_, cli := cliOnMoto(t)
	var cidrs []string
	for i := range 40 {
		cidrs = append(cidrs, fmt.Sprintf("%q", fmt.Sprintf("10.%d.0.0/16", i)))
	}
	cli.Write(acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
  ssh_cidr_blocks  = [` + strings.Join(cidrs, ", ") + `]
}
`)
	stdout, stderr, code := cli.Run("plan", "-input=false", "-no-color")
	if code != 0 {
		t.Fatalf("plan exited %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Close to the security group rule quota", "55 inbound IPv4", "60 per group"} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("the plan does not warn %q:\n%s%s", want, lastLines(stdout, 20), stderr)
		}
	}
}
