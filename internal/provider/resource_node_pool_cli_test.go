//go:build unix

package provider

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// These tests drive the CLI under test as a user does, with the provider built as a plugin
// binary (acctest.NewCLI): what plugin-testing, which serves the provider inside the test
// binary, cannot do — kill the CLI and its plugin at once, or `state rm` and `import` by hand.

// cliPoolConfig is a credential, a default template, the demo cluster with its servers, and one
// worker pool; the CLI harness adds the provider block.
func cliPoolConfig(pool string, quantity int) string {
	return cliServersConfig() + poolHCL(pool, quantity, "worker")
}

// cliServersConfig is cliPoolConfig without the worker pool.
func cliServersConfig() string {
	return acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}
` + clusterTail("")
}

// cliOnMoto is a CLI working directory whose EC2 calls reach the shared moto (through its strict
// proxy), once the CLI under test is known.
func cliOnMoto(t *testing.T) (*acctest.Moto, *acctest.CLIDir) {
	t.Helper()
	moto := acctest.SharedMoto(t)
	acctest.PreCheck(t)
	return moto, acctest.NewCLI(t, moto, moto.URL)
}

// poolCLI is a CLI working directory whose EC2 calls pass a fault proxy (for its hooks and
// counters) in front of the shared moto, configured with one worker pool; everything is
// destroyed, and checked gone, when the test ends.
func poolCLI(t *testing.T, pool string, quantity int) (*acctest.Moto, *acctest.FaultProxy, *acctest.CLIDir) {
	t.Helper()
	moto := acctest.SharedMoto(t)
	acctest.PreCheck(t)
	proxy := acctest.NewFaultProxy(t, moto, 0, 1)
	cli := acctest.NewCLI(t, moto, proxy.URL)
	t.Logf("CLI under test: %s", cli.Version())
	cli.Write(cliPoolConfig(pool, quantity))
	t.Cleanup(func() { destroyAndCheck(t, cli, moto) })
	return moto, proxy, cli
}

// TestAccNodePool_crashDuringLaunch kills Terraform and its plugin with SIGKILL the moment the
// RunInstances of a 12-node pool has reached EC2: the instances exist and no state records the
// pool. The next apply must adopt them as they are: still 12 live instances, no further
// RunInstances, and an empty plan after it.
func TestAccNodePool_crashDuringLaunch(t *testing.T) {
	const pool, quantity = "workers", 12
	moto, proxy, cli := poolCLI(t, pool, quantity)
	addr := nodePoolAddr(pool)
	// The cluster's servers first; the apply to kill then launches only the workers.
	cli.Write(cliServersConfig())
	cli.Apply()
	cli.Write(cliPoolConfig(pool, quantity))
	serverRuns := proxy.Count("RunInstances")

	// The hook runs once moto has launched the instances, before the answer leaves the proxy:
	// it kills the CLI's process group, then the proxy drops the connection (DropAfter).
	started := make(chan *acctest.Proc, 1)
	killed := make(chan error, 1)
	var victims []string // the processes of the group when the kill was sent
	proxy.ForceN("RunInstances", acctest.DropAfter, 1)
	proxy.OnAnswer("RunInstances", func() {
		select {
		case p := <-started:
			victims = p.GroupMembers()
			killed <- p.KillGroup()
		case <-time.After(30 * time.Second):
			killed <- fmt.Errorf("RunInstances answered, but no started CLI to kill")
		}
	})
	apply := cli.Start("apply", "-auto-approve", "-input=false", "-no-color")
	started <- apply
	if ws := apply.Wait(); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		out, errOut := apply.Output()
		t.Fatalf("the apply was not killed by the hook (wait status %v)\nstdout:\n%s\nstderr:\n%s", ws, out, errOut)
	}
	// The hook reports after its kill landed, so the CLI may be gone a moment before the report.
	select {
	case err := <-killed:
		if err != nil {
			t.Fatalf("killing the CLI's process group: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the apply died of SIGKILL, but not from the RunInstances hook")
	}
	if err := apply.WaitGone(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	proxy.OnAnswer("RunInstances", nil)
	out, _ := apply.Output()
	t.Logf("SIGKILL sent to process group %d (%v) once RunInstances was answered; the killed apply got as far as:\n%s",
		apply.Pgid(), victims, lastLines(out, 8))

	// The kill landed between EC2 and the state: 12 instances, one RunInstances, no pool in state.
	launched := liveInstances(t, moto, pool)
	if len(launched) != quantity {
		t.Fatalf("after the kill moto has %d live instances in pool %s; want %d (the kill must land after RunInstances)", len(launched), pool, quantity)
	}
	if n := proxy.Count("RunInstances") - serverRuns; n != 1 {
		t.Fatalf("%d RunInstances of the workers before the kill; want 1", n)
	}
	st := cli.State()
	if acctest.FindStateResource(st, addr) != nil {
		t.Fatalf("the state records %s after the kill; the kill must land before Terraform records the pool", addr)
	}
	// Terraform 1.5 has written the credential, template and cluster to the state file by now;
	// OpenTofu 1.12 may have written nothing yet. Either way the pool is not there.
	t.Logf("after the kill: %d live instances; the state holds %v; state file: %v, lock info file left: %v",
		len(launched), stateAddresses(st), fileExists(filepath.Join(cli.Dir, "terraform.tfstate")),
		fileExists(filepath.Join(cli.Dir, ".terraform.tfstate.lock.info")))

	// The next apply adopts them.
	runs, terminations, calls := proxy.Count("RunInstances"), proxy.Count("TerminateInstances"), proxy.Counts()
	stdout, stderr, code := cli.Run("apply", "-auto-approve", "-input=false", "-no-color")
	t.Logf("EC2/STS calls of the apply after the crash: %s", callDelta(calls, proxy.Counts()))
	if code != 0 {
		t.Errorf("the apply after the crash exited %d\nstdout (end):\n%s\nstderr:\n%s", code, lastLines(stdout, 15), stderr)
	}
	if n := proxy.Count("RunInstances") - runs; n != 0 {
		t.Errorf("the apply after the crash made %d RunInstances; want 0 (adopt the 12 launched instances)", n)
	}
	if n := proxy.Count("TerminateInstances") - terminations; n != 0 {
		t.Errorf("the apply after the crash made %d TerminateInstances; want 0", n)
	}
	live := liveInstances(t, moto, pool)
	if len(live) != quantity || !slices.Equal(instanceIDs(live), instanceIDs(launched)) {
		t.Errorf("after the second apply moto has %d live instances in pool %s (%v); want the %d launched before the crash (%v)",
			len(live), pool, instanceIDs(live), quantity, instanceIDs(launched))
	}
	if r := cli.StateResource(addr); r == nil {
		t.Errorf("the state does not record %s after the second apply", addr)
	} else if got := stateNodeIDs(r); !slices.Equal(got, instanceIDs(launched)) {
		t.Errorf("the state's nodes are %v; want the launched instances %v", got, instanceIDs(launched))
	}
	// The killed run never named its nodes; the adopting apply did: each is called by its node name.
	if err := checkNames(t, moto)(nil); err != nil {
		t.Errorf("after adoption: %v", err)
	}
	expectEmptyPlan(t, cli)
}

// TestAccNodePool_importAsUser imports a pool as a user does: apply, `state rm`, `import` with
// the documented ID, plan, apply. The import must replace nothing: the plan keeps the spec and
// the nodes and updates in place only to record cluster and node_template (passed whole, they
// hold what EC2 does not: they cannot be read back), its apply makes and ends no instance, and
// the plan after it is empty.
func TestAccNodePool_importAsUser(t *testing.T) {
	const pool, quantity = "workers", 3
	moto, proxy, cli := poolCLI(t, pool, quantity)
	addr := nodePoolAddr(pool)

	cli.Apply()
	created := cli.StateResource(addr)
	if created == nil {
		t.Fatalf("the apply did not record %s", addr)
	}
	ids := stateNodeIDs(created)
	if len(ids) != quantity || !slices.Equal(ids, instanceIDs(liveInstances(t, moto, pool))) {
		t.Fatalf("after the apply the state has nodes %v and moto %v; want %d, the same", ids, instanceIDs(liveInstances(t, moto, pool)), quantity)
	}

	cli.MustRun("state", "rm", addr)
	if cli.StateResource(addr) != nil {
		t.Fatalf("%s is still in the state after state rm", addr)
	}
	cli.MustRun("import", "-input=false", "-no-color", addr, "us-west-2/demo/"+pool)
	imported := cli.StateResource(addr)
	if imported == nil {
		t.Fatalf("import did not record %s", addr)
	}
	if got := stateNodeIDs(imported); !slices.Equal(got, ids) {
		t.Errorf("import read nodes %v; want %v", got, ids)
	}

	plan := cli.PlanJSON()
	rc := acctest.FindResourceChange(plan, addr)
	if rc == nil {
		t.Fatalf("the plan after import has no change for %s", addr)
	}
	t.Logf("plan after import: %s %v; attributes that change: %s", addr, rc.Change.Actions, describeChange(rc.Change))
	if rc.Change.Actions.Replace() || rc.Change.Actions.Create() || rc.Change.Actions.Delete() {
		t.Errorf("the plan after import would %v %s; want no-op or update in place", rc.Change.Actions, addr)
	}
	after, _ := rc.Change.After.(map[string]any)
	unknown, _ := rc.Change.AfterUnknown.(map[string]any)
	// The cluster and the template are passed whole and hold what EC2 does not (the CA keys, the
	// template's settings): the import cannot read them back, so the plan records them. Nothing
	// else may change.
	if changed := changedAttributes(rc.Change); len(slices.DeleteFunc(changed, func(k string) bool { return k == "cluster" || k == "node_template" })) > 0 {
		t.Errorf("the plan after import changes %v; want only cluster and node_template recorded", changed)
	}
	if unknown["spec"] != nil && hasUnknown(unknown["spec"]) {
		t.Errorf("the plan after import leaves spec unknown; want the imported %v", imported.AttributeValues["spec"])
	} else if after["spec"] != imported.AttributeValues["spec"] {
		t.Errorf("the plan after import changes spec from %v (imported) to %v", imported.AttributeValues["spec"], after["spec"])
	}
	if hasUnknown(unknown["nodes"]) {
		t.Errorf("the plan after import leaves nodes (or some of them) unknown; want the %d imported nodes", quantity)
	} else if !reflect.DeepEqual(after["nodes"], imported.AttributeValues["nodes"]) {
		t.Errorf("the plan after import changes nodes\nimported: %v\nplanned:  %v", imported.AttributeValues["nodes"], after["nodes"])
	}

	runs, terminations, calls := proxy.Count("RunInstances"), proxy.Count("TerminateInstances"), proxy.Counts()
	stdout, stderr, code := cli.Run("apply", "-input=false", "-no-color", cli.PlanFile())
	t.Logf("EC2/STS calls of the apply after import: %s", callDelta(calls, proxy.Counts()))
	if code != 0 {
		t.Errorf("applying the plan after import exited %d\nstdout (end):\n%s\nstderr:\n%s", code, lastLines(stdout, 15), stderr)
	}
	if n := proxy.Count("RunInstances") - runs; n != 0 {
		t.Errorf("applying the plan after import made %d RunInstances; want 0", n)
	}
	if n := proxy.Count("TerminateInstances") - terminations; n != 0 {
		t.Errorf("applying the plan after import made %d TerminateInstances; want 0", n)
	}
	if live := instanceIDs(liveInstances(t, moto, pool)); !slices.Equal(live, ids) {
		t.Errorf("after the apply moto's live instances are %v; want the imported %v", live, ids)
	}
	if r := cli.StateResource(addr); r == nil {
		t.Errorf("the state lost %s", addr)
	} else if got := stateNodeIDs(r); !slices.Equal(got, ids) {
		t.Errorf("after the apply the state's nodes are %v; want the imported %v", got, ids)
	}
	expectEmptyPlan(t, cli)
}

// expectEmptyPlan runs `plan -detailed-exitcode` and fails the test unless it exits 0.
func expectEmptyPlan(t *testing.T, cli *acctest.CLIDir) {
	t.Helper()
	stdout, stderr, code := cli.Run("plan", "-detailed-exitcode", "-input=false", "-no-color")
	if code != 0 {
		t.Errorf("plan -detailed-exitcode exited %d; want 0 (no changes)\n%s\nstderr:\n%s", code, planSummary(stdout), stderr)
	}
}

// destroyAndCheck destroys what the CLI's directory holds and checks with moto that no live
// instance and no key pair of the cluster is left.
func destroyAndCheck(t *testing.T, cli *acctest.CLIDir, m *acctest.Moto) {
	t.Helper()
	if stdout, stderr, code := cli.Run("destroy", "-auto-approve", "-input=false", "-no-color"); code != 0 {
		t.Errorf("destroy exited %d\nstdout (end):\n%s\nstderr:\n%s", code, lastLines(stdout, 15), stderr)
	}
	if err := checkPoolsGone(m)(nil); err != nil {
		t.Errorf("after destroy: %v", err)
	}
}

func instanceIDs(instances []ec2types.Instance) []string {
	var out []string
	for _, i := range instances {
		out = append(out, aws.ToString(i.InstanceId))
	}
	slices.Sort(out)
	return out
}

// stateNodeIDs returns the sorted instance IDs of a pool's nodes in the state.
func stateNodeIDs(r *tfjson.StateResource) []string {
	nodes, _ := r.AttributeValues["nodes"].([]any)
	var out []string
	for _, n := range nodes {
		if m, ok := n.(map[string]any); ok {
			id, _ := m["instance_id"].(string)
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func stateAddresses(st *tfjson.State) []string {
	var out []string
	if st.Values != nil && st.Values.RootModule != nil {
		for _, r := range st.Values.RootModule.Resources {
			out = append(out, r.Address)
		}
	}
	return out
}

// hasUnknown reports whether an after_unknown value marks anything unknown.
func hasUnknown(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case []any:
		return slices.ContainsFunc(v, hasUnknown)
	case map[string]any:
		for _, e := range v {
			if hasUnknown(e) {
				return true
			}
		}
	}
	return false
}

// describeChange names the attributes a planned change alters, with short before and after
// values, for failure messages and the log.
func describeChange(c *tfjson.Change) string {
	before, _ := c.Before.(map[string]any)
	after, _ := c.After.(map[string]any)
	unknown, _ := c.AfterUnknown.(map[string]any)
	var out []string
	for _, k := range changedAttributes(c) {
		if hasUnknown(unknown[k]) {
			out = append(out, fmt.Sprintf("%s: %s -> (known after apply)", k, short(before[k])))
		} else {
			out = append(out, fmt.Sprintf("%s: %s -> %s", k, short(before[k]), short(after[k])))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

// changedAttributes names the top-level attributes a change plans to alter or leaves unknown, sorted.
func changedAttributes(c *tfjson.Change) []string {
	before, _ := c.Before.(map[string]any)
	after, _ := c.After.(map[string]any)
	unknown, _ := c.AfterUnknown.(map[string]any)
	all := map[string]any{}
	maps.Copy(all, before)
	maps.Copy(all, after)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(all)) {
		if hasUnknown(unknown[k]) || !reflect.DeepEqual(before[k], after[k]) {
			out = append(out, k)
		}
	}
	return out
}

func short(v any) string {
	s := fmt.Sprint(v)
	if v == nil {
		s = "null"
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// planSummary keeps the lines of a human plan that say what changes.
func planSummary(stdout string) string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		trim := strings.TrimSpace(l)
		if strings.HasPrefix(trim, "#") || strings.HasPrefix(trim, "Plan:") || strings.HasPrefix(trim, "~") ||
			strings.HasPrefix(trim, "-/+") || strings.HasPrefix(trim, "+") || strings.HasPrefix(trim, "-") ||
			strings.Contains(l, "forces replacement") || strings.HasPrefix(trim, "No changes") {
			out = append(out, l)
		}
	}
	if len(out) > 60 {
		out = append(out[:60], "...")
	}
	return strings.Join(out, "\n")
}

// callDelta lists the requests per action made between two snapshots of FaultProxy.Counts.
func callDelta(before, after map[string]int) string {
	var out []string
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out = append(out, fmt.Sprintf("%s=%d", k, d))
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestAccNodePool_unknownSpecInput is the case that failed applies with "Provider produced
// inconsistent final plan ... invalid new value for .spec": a template whose kms_key_id comes
// from another resource's output, changed in a second apply. The plan must leave the spec
// unknown and warn that the nodes may be replaced; the apply must replace them; a known
// change must show the new spec and say the nodes will be replaced.
func TestAccNodePool_unknownSpecInput(t *testing.T) {
	moto, cli := cliOnMoto(t)
	t.Logf("CLI under test: %s", cli.Version())
	const pool = "workers"
	addr := nodePoolAddr(pool)
	config := func(key string, rootSize int) string {
		return acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + fmt.Sprintf(`
resource "terraform_data" "kms" {
  input = %q
}

resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
  kms_key_id       = terraform_data.kms.output
  root_size        = %d
}
`, key, rootSize) + clusterTail(poolHCL(pool, 2, "worker"))
	}
	t.Cleanup(func() { destroyAndCheck(t, cli, moto) })

	cli.Write(config("alias/ec2k8s-first", 32))
	cli.Apply()
	first := instanceIDs(liveInstances(t, moto, pool))
	specBefore := cli.StateResource(addr).AttributeValues["spec"]

	cli.Write(config("alias/ec2k8s-second", 32))
	plan := cli.PlanJSON()
	rc := acctest.FindResourceChange(plan, addr)
	if rc == nil || !rc.Change.Actions.Update() {
		t.Fatalf("plan for %s: %v; want an update in place", addr, rc)
	}
	if unknown, _ := rc.Change.AfterUnknown.(map[string]any); unknown["spec"] != true {
		t.Errorf("the plan knows the spec (%v) although kms_key_id is unknown until apply", rc.Change.After.(map[string]any)["spec"])
	}
	stdout, _, _ := cli.Run("plan", "-input=false", "-no-color")
	for _, want := range []string{"Nodes may be replaced", "node_template.kms_key_id", "will not be known until apply"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the plan does not say %q:\n%s", want, lastLines(stdout, 30))
		}
	}
	if stdout, stderr, code := cli.Run("apply", "-auto-approve", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("the apply with a changed kms_key_id exited %d\nstdout (end):\n%s\nstderr:\n%s", code, lastLines(stdout, 15), stderr)
	}
	second := instanceIDs(liveInstances(t, moto, pool))
	if len(second) != 2 || slices.ContainsFunc(second, func(id string) bool { return slices.Contains(first, id) }) {
		t.Errorf("after the key change the pool runs %v; want 2 new nodes (it ran %v)", second, first)
	}
	if spec := cli.StateResource(addr).AttributeValues["spec"]; spec == specBefore {
		t.Errorf("the spec stayed %v after the key change", spec)
	}
	expectEmptyPlan(t, cli)

	// A change known at plan: the plan shows the new spec and says the nodes will be replaced.
	cli.Write(config("alias/ec2k8s-second", 40))
	plan = cli.PlanJSON()
	rc = acctest.FindResourceChange(plan, addr)
	after, _ := rc.Change.After.(map[string]any)
	before, _ := rc.Change.Before.(map[string]any)
	if after["spec"] == nil || after["spec"] == before["spec"] {
		t.Errorf("a root_size change plans spec %v (was %v); want the new spec, known", after["spec"], before["spec"])
	}
	stdout, _, _ = cli.Run("plan", "-input=false", "-no-color")
	if !strings.Contains(stdout, "Nodes will be replaced") {
		t.Errorf("the plan does not say the nodes will be replaced:\n%s", lastLines(stdout, 30))
	}
}

// TestAccNodePool_applyWithoutRefresh: after a create whose nodes were still pending when it
// timed out, an apply without a refresh (the state says "pending", EC2 "running") must not
// fail with "inconsistent result after apply": the plan leaves unsettled nodes unknown.
func TestAccNodePool_applyWithoutRefresh(t *testing.T) {
	moto := acctest.SharedMoto(t)
	acctest.PreCheck(t)
	proxy := acctest.NewFaultProxy(t, moto, 0, 1)
	cli := acctest.NewCLI(t, moto, proxy.URL)
	cli.Write(strings.Replace(cliPoolConfig("workers", 2), "  worker = true", "  worker = true\n  timeouts {\n    create = \"4s\"\n  }", 1))
	t.Cleanup(func() { destroyAndCheck(t, cli, moto) })
	proxy.Rewrite("DescribeInstances", func(b []byte) []byte {
		return keepPending(b, func(id string) bool { return instancePool(moto, id) == "workers" })
	})
	stdout, stderr, code := cli.Run("apply", "-auto-approve", "-input=false", "-no-color")
	if code != 0 || !strings.Contains(stdout+stderr, "Node pool created incompletely") {
		t.Fatalf("the create exited %d; want 0 with a warning\n%s\n%s", code, lastLines(stdout, 20), stderr)
	}
	proxy.Rewrite("DescribeInstances", nil)
	if stdout, stderr, code := cli.Run("apply", "-refresh=false", "-auto-approve", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("apply -refresh=false exited %d\n%s\n%s", code, lastLines(stdout, 20), stderr)
	}
	expectEmptyPlan(t, cli)
}
