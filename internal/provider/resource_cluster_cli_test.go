//go:build unix

package provider

import (
	"slices"
	"strings"
	"testing"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// TestAccCluster_importAsUser imports a cluster as a user does (`state rm`, `import` by name)
// and shows what the import cannot bring back: the CLI prints the warning that the CA keys and
// tokens are gone; the pools keep their nodes (the next apply replaces nothing); growing a pool
// is refused with an error that names the cause, and nothing is launched.
func TestAccCluster_importAsUser(t *testing.T) {
	const pool = "workers"
	moto, proxy, cli := poolCLI(t, pool, 1)
	cli.Apply()
	before := instanceIDs(liveInstances(t, moto, pool))

	cli.MustRun("state", "rm", clusterAddr)
	stdout, stderr, code := cli.Run("import", "-input=false", "-no-color", clusterAddr, "demo")
	if code != 0 || !strings.Contains(stdout+stderr, "The cluster's CA keys and tokens are not imported") {
		t.Fatalf("import exited %d; want 0 with the warning about the CA keys\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	runs, terminations := proxy.Count("RunInstances"), proxy.Count("TerminateInstances")
	if stdout, stderr, code := cli.Run("apply", "-auto-approve", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("the apply after the import exited %d\nstdout (end):\n%s\nstderr:\n%s", code, lastLines(stdout, 15), stderr)
	}
	if proxy.Count("RunInstances") != runs || proxy.Count("TerminateInstances") != terminations {
		t.Errorf("the apply after the import launched %d and terminated %d times; want neither",
			proxy.Count("RunInstances")-runs, proxy.Count("TerminateInstances")-terminations)
	}
	if after := instanceIDs(liveInstances(t, moto, pool)); !slices.Equal(after, before) {
		t.Errorf("after the import the pool runs %v; want its nodes kept, %v", after, before)
	}

	cli.Write(cliPoolConfig(pool, 2))
	stdout, stderr, code = cli.Run("apply", "-auto-approve", "-input=false", "-no-color")
	if code == 0 || !strings.Contains(stdout+stderr, "has no CA keys and tokens in the state (an imported cluster?)") {
		t.Errorf("growing a pool of the imported cluster exited %d; want an error that names the missing CA keys\nstdout (end):\n%s\nstderr:\n%s",
			code, lastLines(stdout, 15), stderr)
	}
	if n := proxy.Count("RunInstances") - runs; n != 0 {
		t.Errorf("%d RunInstances for a pool whose nodes cannot be bootstrapped; want 0", n)
	}
}

// TestAccCluster_apiHostWarning: a plan warns when api_server_url names a host the servers'
// certificates do not (a DNS name other than registration_address), and not when it is the
// registration address.
func TestAccCluster_apiHostWarning(t *testing.T) {
	_, cli := cliOnMoto(t)
	config := func(attrs string) string {
		return acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
` + attrs + `}
`
	}
	const warning = "api_server_url is not in the servers' certificates"
	for _, tc := range []struct {
		attrs string
		warn  bool
	}{
		{`  api_server_url = "https://k8s.example.com:6443"` + "\n", true},
		{`  api_server_url       = "https://k8s.example.com:6443"` + "\n" + `  registration_address = "k8s.example.com"` + "\n", false},
	} {
		cli.Write(config(tc.attrs))
		stdout, stderr, code := cli.Run("plan", "-input=false", "-no-color")
		if code != 0 || strings.Contains(stdout+stderr, warning) != tc.warn {
			t.Errorf("plan of\n%s\nexited %d, warned %v; want 0, %v\nstdout (end):\n%s\nstderr:\n%s", tc.attrs, code, strings.Contains(stdout+stderr, warning), tc.warn, lastLines(stdout, 15), stderr)
		}
	}
}
