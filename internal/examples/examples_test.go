package examples

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

func TestMain(m *testing.M) { os.Exit(acctest.Main(m)) }

// fmtOnly are the example directories that are format-checked but not validated, and why. Every
// other directory under examples/ must validate: a new example is validated unless it is added
// here, with its reason.
var fmtOnly = map[string]string{
	"kubernetes-provider":           "it needs hashicorp/kubernetes, which cannot be installed without a registry",
	"resources/ec2k8s_cluster_sync": "a fragment of the ec2k8s_cluster_sync page: it uses the pools of resources/ec2k8s_node_pool and configures the kubernetes provider",
}

// devOverridesWarning is the warning both CLIs give for the harness's dev_overrides.
const devOverridesWarning = "Provider development overrides are in effect"

func examplesDir() string { return filepath.Join(acctest.RepoRoot(), "examples") }

// exampleDirs lists the directories under examples/ holding .tf or .tfvars files, relative to
// it, with forward slashes, sorted.
func exampleDirs(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	root := examplesDir()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(d.Name(), ".tf") || strings.HasSuffix(d.Name(), ".tfvars")) {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			seen[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing examples/: %v", err)
	}
	dirs := make([]string, 0, len(seen))
	for d := range seen {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	// The examples this package exists for; their absence means the walk went wrong.
	for _, want := range []string{"quickstart", "production", "modules/ec2k8s-cluster", "kubernetes-provider", "provider"} {
		if !slices.Contains(dirs, want) {
			t.Fatalf("examples/%s not found among %v", want, dirs)
		}
	}
	return dirs
}

// newCLI is the CLI harness (acctest.NewCLI) with every request to anything but loopback sent
// to a closed port: `get` and `validate` must not need a registry.
func newCLI(t *testing.T, m *acctest.Moto, endpoint string) *acctest.CLIDir {
	t.Helper()
	cli := acctest.NewCLI(t, m, endpoint)
	cli.NoProxyEscape()
	return cli
}

// copyExamples copies examples/ into a temporary directory (module sources such as
// ../modules/ec2k8s-cluster keep working) and returns the copy.
func copyExamples(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "examples")
	acctest.CopyTree(t, examplesDir(), dst)
	return dst
}

// TestAccExamples_format runs `fmt -check -recursive` of the CLI under test on every example
// directory.
func TestAccExamples_format(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	acctest.PreCheck(t)
	dirs := exampleDirs(t)
	cli := newCLI(t, nil, "")
	t.Logf("CLI under test: %s; %d example directories", cli.Version(), len(dirs))
	for _, dir := range dirs {
		out, errOut, code := cli.Run("fmt", "-check", "-recursive", "-diff", "-no-color", filepath.Join(examplesDir(), filepath.FromSlash(dir)))
		if code != 0 {
			t.Errorf("examples/%s is not formatted as %s formats it (exit %d): run `terraform fmt -recursive examples`\n%s%s", dir, filepath.Base(cli.Bin), code, out, errOut)
		}
	}
}

// TestAccExamples_validate runs `get` (local modules only: it never asks a registry, unlike init)
// and `validate` on a copy of every example directory but those of fmtOnly, and allows no
// diagnostic but the dev_overrides warning. A directory that declares no required_providers (a
// documentation fragment) gets a file declaring ec2k8s/ec2k8s in the copy: without it ec2k8s
// would mean hashicorp/ec2k8s.
func TestAccExamples_validate(t *testing.T) {
	acctest.SkipUnlessAcc(t)
	acctest.PreCheck(t)
	dirs := exampleDirs(t)
	for dir := range fmtOnly {
		if !slices.Contains(dirs, dir) {
			t.Errorf("fmtOnly names examples/%s, which does not exist: remove it", dir)
		}
	}
	work := copyExamples(t)
	validated := 0
	for _, dir := range dirs {
		if why, ok := fmtOnly[dir]; ok {
			t.Logf("examples/%s: format-checked only: %s", dir, why)
			continue
		}
		validated++
		t.Run(strings.ReplaceAll(dir, "/", "_"), func(t *testing.T) {
			cli := newCLI(t, nil, "")
			cli.Dir = filepath.Join(work, filepath.FromSlash(dir))
			if !declaresRequiredProviders(t, cli.Dir) {
				writeFile(t, filepath.Join(cli.Dir, "acctest_providers.tf"), fmt.Sprintf(`terraform {
  required_providers {
    ec2k8s = { source = %q }
  }
}
`, acctest.ProviderSource))
			}
			cli.MustRun("get", "-no-color")
			out, errOut, code := cli.Run("validate", "-json", "-no-color")
			var res tfjson.ValidateOutput
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("validate -json (exit %d): %v\n%s%s", code, err, out, errOut)
			}
			var problems []string
			for _, d := range res.Diagnostics {
				if d.Severity == tfjson.DiagnosticSeverityWarning && d.Summary == devOverridesWarning {
					continue
				}
				where := ""
				if d.Range != nil {
					where = fmt.Sprintf(" (%s:%d)", d.Range.Filename, d.Range.Start.Line)
				}
				problems = append(problems, fmt.Sprintf("%s: %s%s: %s", d.Severity, d.Summary, where, d.Detail))
			}
			if !res.Valid || code != 0 || len(problems) > 0 {
				t.Errorf("examples/%s does not validate cleanly (exit %d, valid %t):\n%s", dir, code, res.Valid, strings.Join(problems, "\n"))
			}
		})
	}
	t.Logf("%d example directories validated, %d format-checked only", validated, len(fmtOnly))
}

// declaresRequiredProviders says whether a .tf file of dir has a required_providers block.
func declaresRequiredProviders(t *testing.T, dir string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.Contains(acctest.ReadFile(t, f), "required_providers") {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAccExamples_quickstart plans examples/quickstart as it is meant for AWS, then applies it as
// `make demo` does — moto reached through the SDK's own AWS_ENDPOINT_URL* variables, -var
// wait_for_active=false since no node boots on moto — checks the cluster it made, and destroys
// it (see applyCheckDestroy).
func TestAccExamples_quickstart(t *testing.T) {
	moto := acctest.SharedMoto(t)
	acctest.PreCheck(t)
	cli := exampleCLI(t, moto, "quickstart")
	for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM"} {
		cli.Setenv(k, moto.URL)
	}
	applyCheckDestroy(t, moto, cli, exampleWant{
		cluster:      "demo",
		sync:         "ec2k8s_cluster_sync.demo[0]",
		region:       "us-west-2",
		instanceType: "t3.medium",
		pools: []poolWant{
			{addr: "ec2k8s_node_pool.etcd", name: "etcd", roles: []string{"etcd"}, quantity: 1},
			{addr: "ec2k8s_node_pool.control_plane", name: "control-plane", roles: []string{"controlplane"}, quantity: 1},
			{addr: "ec2k8s_node_pool.worker", name: "worker", roles: []string{"worker"}, quantity: 1},
		},
	})
}

// TestAccExamples_production applies examples/production, which builds the recommended topology
// through examples/modules/ec2k8s-cluster, with moto reached through the provider's own
// endpoints: a generated ec2k8s_override.tf in the copy merges them into the example's provider
// block, and the SDK's default endpoints stay on the harness's closed port, so a call that
// ignored the provider's endpoints would fail on 127.0.0.1. The registration address is
// loopback: nothing the provider might probe there leaves the machine.
func TestAccExamples_production(t *testing.T) {
	moto := acctest.SharedMoto(t)
	acctest.PreCheck(t)
	cli := exampleCLI(t, moto, "production")
	writeFile(t, filepath.Join(cli.Dir, "ec2k8s_override.tf"), fmt.Sprintf(`provider "ec2k8s" {
  max_retries = 3
  endpoints {
    ec2 = %[1]q
    sts = %[1]q
    iam = %[1]q
  }
}
`, moto.URL))
	applyCheckDestroy(t, moto, cli, exampleWant{
		vars:         []string{"-var", "registration_address=127.0.0.1"},
		cluster:      "prod",
		sync:         "module.cluster.ec2k8s_cluster_sync.this[0]",
		region:       "us-west-2",
		instanceType: "m6i.xlarge",
		pools: []poolWant{
			{addr: "module.cluster.ec2k8s_node_pool.etcd", name: "etcd", roles: []string{"etcd"}, quantity: 3},
			{addr: "module.cluster.ec2k8s_node_pool.control_plane", name: "control-plane", roles: []string{"controlplane"}, quantity: 2},
			{addr: "module.cluster.ec2k8s_node_pool.worker", name: "worker", roles: []string{"worker"}, quantity: 2},
		},
	})
}

// exampleCLI is a CLI harness working in a copy of examples/<dir>, its modules installed.
func exampleCLI(t *testing.T, m *acctest.Moto, dir string) *acctest.CLIDir {
	t.Helper()
	cli := newCLI(t, m, m.URL)
	t.Logf("CLI under test: %s", cli.Version())
	cli.Dir = filepath.Join(copyExamples(t), dir)
	cli.MustRun("get", "-no-color")
	return cli
}

type poolWant struct {
	addr     string // the pool's address in the state
	name     string
	roles    []string
	quantity int
}

type exampleWant struct {
	vars         []string // -var arguments of every plan, apply and destroy
	cluster      string
	sync         string // the address of the example's ec2k8s_cluster_sync with wait_for_active = true
	region       string
	instanceType string
	pools        []poolWant
}

// applyCheckDestroy plans the example as it is meant for AWS (wait_for_active = true: the plan
// has the sync; a plan dials no cluster), then applies it with wait_for_active = false, checks
// its pools in the state, on moto and in its outputs (nodes, cluster_state, kubeconfig,
// provisioner_policy), checks that a second plan is empty, destroys it and checks that the state
// is empty and moto has no live instance.
func applyCheckDestroy(t *testing.T, m *acctest.Moto, cli *acctest.CLIDir, want exampleWant) {
	t.Helper()
	plan := cli.PlanJSON(want.vars...)
	if rc := acctest.FindResourceChange(plan, want.sync); rc == nil || rc.Change == nil || !rc.Change.Actions.Create() {
		t.Errorf("with wait_for_active = true the plan does not create %s", want.sync)
	}
	if err := os.Remove(cli.PlanFile()); err != nil {
		t.Fatal(err)
	}
	want.vars = append(want.vars, "-var", "wait_for_active=false")
	cli.Apply(want.vars...)

	// The state: each pool with its nodes, named <cluster>-<pool>-<n>; no sync.
	st := cli.State()
	names := map[string]string{} // instance ID -> node name
	var stateNodes []outputNode
	for _, p := range want.pools {
		r := acctest.FindStateResource(st, p.addr)
		if r == nil {
			t.Fatalf("the state has no %s", p.addr)
		}
		nodes, _ := r.AttributeValues["nodes"].([]any)
		if len(nodes) != p.quantity {
			t.Errorf("%s has %d nodes in the state; want %d", p.addr, len(nodes), p.quantity)
		}
		for i, n := range nodes {
			node, _ := n.(map[string]any)
			id, _ := node["instance_id"].(string)
			host, _ := node["hostname"].(string)
			state, _ := node["state"].(string)
			wantHost := fmt.Sprintf("%s-%s-%d", want.cluster, p.name, i+1)
			if host != wantHost || id == "" || state != "running" {
				t.Errorf("%s node %d: hostname %q, instance %q, state %q; want %q, an instance, running", p.addr, i, host, id, state, wantHost)
			}
			if roles := strings.Join(stringList(node["roles"]), ","); roles != strings.Join(p.roles, ",") {
				t.Errorf("%s node %s has roles %s; want %v", p.addr, host, roles, p.roles)
			}
			names[id] = host
			stateNodes = append(stateNodes, outputNode{Pool: p.name, Roles: p.roles, Name: host, InstanceID: id, State: "running"})
		}
	}
	for _, r := range allResources(st) {
		if r.Type == "ec2k8s_cluster_sync" {
			t.Errorf("the state has %s with wait_for_active = false", r.Address)
		}
	}

	// moto: the same instances, named after their nodes, of the expected type.
	live := acctest.LiveInstances(t, m, want.region, types.Filter{Name: aws.String("tag:" + provisioning.TagCluster), Values: []string{want.cluster}})
	if len(live) != len(names) {
		t.Errorf("moto has %d live instances of cluster %s; the state has %d nodes", len(live), want.cluster, len(names))
	}
	for _, i := range live {
		id := aws.ToString(i.InstanceId)
		if name := acctest.TagValue(i.Tags, "Name"); names[id] == "" || name != names[id] {
			t.Errorf("moto's instance %s is named %q; the state has node %q for it", id, name, names[id])
		}
		if string(i.InstanceType) != want.instanceType {
			t.Errorf("moto's instance %s is a %s; want %s", id, i.InstanceType, want.instanceType)
		}
	}

	// The outputs a user (and `make demo`) reads.
	outputs := readOutputs(t, cli)
	var got []outputNode
	if err := json.Unmarshal(outputs["nodes"], &got); err != nil {
		t.Fatalf("output nodes: %v\n%s", err, outputs["nodes"])
	}
	for i := range got {
		if got[i].PrivateIP == "" {
			t.Errorf("output nodes: %s has no private_ip", got[i].Name)
		}
		got[i].PrivateIP = "" // moto's made-up address: present is enough
	}
	if !jsonEqual(got, stateNodes) {
		t.Errorf("output nodes is\n%+v\nwant (from the state)\n%+v", got, stateNodes)
	}
	var clusterState string
	if err := json.Unmarshal(outputs["cluster_state"], &clusterState); err != nil || !strings.HasPrefix(clusterState, "not checked") {
		t.Errorf("output cluster_state is %s; want a sentence saying Kubernetes was not checked", outputs["cluster_state"])
	}
	// A null output is left out of the state, so `output` does not list it.
	if kc, ok := outputs["kubeconfig"]; ok && string(kc) != "null" {
		t.Errorf("output kubeconfig is set without the sync: %.40s...", kc)
	}
	var policy string
	if err := json.Unmarshal(outputs["provisioner_policy"], &policy); err != nil {
		t.Errorf("output provisioner_policy: %v", err)
	} else if !strings.Contains(policy, "ec2:RunInstances") || !strings.Contains(policy, acctest.AccountID) {
		t.Errorf("output provisioner_policy does not grant ec2:RunInstances in account %s:\n%s", acctest.AccountID, policy)
	}

	// Applied as it stands, the example has nothing left to change.
	if out, errOut, code := cli.Run(append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, want.vars...)...); code != 0 {
		t.Errorf("plan after apply exited %d; want 0 (no changes)\n%s%s", code, out, errOut)
	}

	cli.MustRun(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, want.vars...)...)
	if left := strings.TrimSpace(cli.MustRun("state", "list")); left != "" {
		t.Errorf("the state still holds, after destroy:\n%s", left)
	}
	if live := acctest.LiveInstances(t, m, want.region); len(live) != 0 {
		t.Errorf("moto has %d live instances after destroy; want none", len(live))
	}
}

// outputNode is an element of an example's nodes output.
type outputNode struct {
	Pool       string   `json:"pool"`
	Roles      []string `json:"roles"`
	Name       string   `json:"name"`
	InstanceID string   `json:"instance_id"`
	PrivateIP  string   `json:"private_ip,omitempty"`
	State      string   `json:"state"`
}

// readOutputs runs `output -json` and returns each output's value, as JSON.
func readOutputs(t *testing.T, cli *acctest.CLIDir) map[string]json.RawMessage {
	t.Helper()
	var raw map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	out := cli.MustRun("output", "-json", "-no-color")
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("output -json: %v\n%s", err, out)
	}
	values := map[string]json.RawMessage{}
	for k, v := range raw {
		values[k] = v.Value
	}
	for _, k := range []string{"nodes", "cluster_state", "provisioner_policy"} {
		if _, ok := values[k]; !ok {
			t.Fatalf("the example has no %s output; it has %v", k, keys(values))
		}
	}
	return values
}

func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

// allResources lists the resources of every module of the state.
func allResources(st *tfjson.State) []*tfjson.StateResource {
	if st == nil || st.Values == nil {
		return nil
	}
	var out []*tfjson.StateResource
	var walk func(m *tfjson.StateModule)
	walk = func(m *tfjson.StateModule) {
		if m == nil {
			return
		}
		out = append(out, m.Resources...)
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(st.Values.RootModule)
	return out
}
