package provider

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// syncConfig is the demo cluster (with clusterAttrs), its servers and two workers, and a sync
// of all of it with syncAttrs.
func syncConfig(m *acctest.Moto, clusterAttrs, syncAttrs string) string {
	return templateConfig(m, acctest.AccessKey, acctest.SecretKey, "") + `
resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
  members          = [{ name = "alice", role = "cluster-owner" }, { name = "bob", role = "read-only" }]
` + clusterAttrs + `
}
` + serversHCL + poolHCL("workers", 2, "worker") + `
resource "ec2k8s_cluster_sync" "demo" {
  cluster    = ec2k8s_cluster.demo
  node_pools = [ec2k8s_node_pool.servers, ec2k8s_node_pool.workers]
` + syncAttrs + `
}
`
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// TestAccClusterSync_apiUnreachable: a sync whose API never answers fails at its timeout with an
// error that says which check is missing and where it looked; the pools are made regardless.
func TestAccClusterSync_apiUnreachable(t *testing.T) {
	moto := acctest.SharedMoto(t)
	url := fmt.Sprintf("https://127.0.0.1:%d", closedPort(t))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkPoolsGone(moto),
		Steps: []resource.TestStep{{
			Config: syncConfig(moto, fmt.Sprintf("  api_server_url = %q\n", url), `
  timeouts {
    create = "3s"
  }
`),
			ExpectError: regexp.MustCompile(`(?s)did not become Active.*` + regexp.QuoteMeta(url) + `.*does not answer /readyz`),
		}},
	})
}

// TestAccClusterSync_apiURLFromFirstControlPlaneNode: with neither api_server_url nor
// registration_address, the sync's URL is the first control-plane node's public address on 6443.
// The step only plans (applying would dial the emulator's made-up address).
func TestAccClusterSync_apiURLFromFirstControlPlaneNode(t *testing.T) {
	moto := acctest.SharedMoto(t)
	withSync := syncConfig(moto, "", "")
	withoutSync := withSync[:strings.Index(withSync, `resource "ec2k8s_cluster_sync"`)]
	var first string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy:             checkPoolsGone(moto),
		Steps: []resource.TestStep{{
			Config: withoutSync,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(nodePoolAddr("servers"), tfjsonpath.New("nodes").AtSliceIndex(0).AtMapKey("public_ip"),
					knownvalue.StringFunc(func(v string) error {
						if net.ParseIP(v) == nil {
							return fmt.Errorf("the first server has no public address: %q", v)
						}
						first = v
						return nil
					})),
			},
		}, {
			Config:             withSync,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPreRefresh: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction("ec2k8s_cluster_sync.demo", plancheck.ResourceActionCreate),
				plancheck.ExpectKnownValue("ec2k8s_cluster_sync.demo", tfjsonpath.New("api_server_url"),
					knownvalue.StringFunc(func(v string) error {
						if want := "https://" + first + ":6443"; v != want {
							return fmt.Errorf("api_server_url %q, want %q", v, want)
						}
						return nil
					})),
			}},
		}},
	})
}

// syncFixture builds the objects a sync receives, of the types its schema gives them.
type syncFixture struct {
	t                           *testing.T
	cluster, pool, node, member attr.Type
}

func newSyncFixture(t *testing.T) syncFixture {
	s := resourceSchema(&clusterSyncResource{})
	pools := s.Attributes["node_pools"].GetType().(types.ListType)
	pool := pools.ElemType.(types.ObjectType)
	nodes := pool.AttrTypes["nodes"].(types.ListType)
	cluster := s.Attributes["cluster"].GetType().(types.ObjectType)
	members := cluster.AttrTypes["members"].(types.ListType)
	return syncFixture{t: t, cluster: cluster, pool: pool, node: nodes.ElemType, member: members.ElemType}
}

// model is a sync of cluster attributes c and pools.
func (f syncFixture) model(c map[string]attr.Value, pools ...attr.Value) clusterSyncModel {
	return clusterSyncModel{Cluster: objectOf(f.t, f.cluster, c), NodePools: types.ListValueMust(f.pool, pools)}
}

// poolOf is a pool: control_plane as cp, the template's use_private_address as private, nodes.
func (f syncFixture) poolOf(name string, cp, private bool, nodes ...attr.Value) attr.Value {
	tmplType := f.pool.(types.ObjectType).AttrTypes["node_template"]
	return objectOf(f.t, f.pool, map[string]attr.Value{"name": types.StringValue(name), "control_plane": types.BoolValue(cp),
		"etcd": types.BoolValue(cp), "worker": types.BoolValue(!cp),
		"node_template": objectOf(f.t, tmplType, map[string]attr.Value{"use_private_address": types.BoolValue(private)}),
		"nodes":         types.ListValueMust(f.node, nodes)})
}

// nodeOf is a node: index, hostname, addresses and state.
func (f syncFixture) nodeOf(index int64, public, private, state string) attr.Value {
	return objectOf(f.t, f.node, map[string]attr.Value{"index": types.Int64Value(index), "hostname": types.StringValue(fmt.Sprintf("demo-%d", index)),
		"public_ip": types.StringValue(public), "private_ip": types.StringValue(private), "state": types.StringValue(state)})
}

// TestClusterSyncModel_pools: a pool's roles in a fixed order, its node names, the nodes not
// running, and the address of its lowest-numbered node: public unless the template uses
// private addresses or the node has no public one.
func TestClusterSyncModel_pools(t *testing.T) {
	f := newSyncFixture(t)
	m := f.model(map[string]attr.Value{"name": types.StringValue("demo")},
		f.poolOf("servers", true, false, f.nodeOf(2, "54.0.0.2", "10.0.0.2", "running"), f.nodeOf(1, "54.0.0.1", "10.0.0.1", "running")),
		f.poolOf("private", true, true, f.nodeOf(1, "54.0.1.1", "10.0.1.1", "running")),
		f.poolOf("workers", false, false, f.nodeOf(4, "", "10.0.2.4", "pending")))
	pools, diags := m.pools(context.Background())
	if diags.HasError() {
		t.Fatal(diags)
	}
	got := fmt.Sprintf("%+v", pools)
	want := "[{name:servers roles:[controlplane etcd] names:[demo-2 demo-1] notRunning:[] firstAddress:54.0.0.1} " +
		"{name:private roles:[controlplane etcd] names:[demo-1] notRunning:[] firstAddress:10.0.1.1} " +
		"{name:workers roles:[worker] names:[demo-4] notRunning:[demo-4 (pending)] firstAddress:10.0.2.4}]"
	if got != want {
		t.Errorf("pools\n got %s\nwant %s", got, want)
	}
}

// TestClusterSyncModel_apiServerURL: the cluster's api_server_url, else its registration
// address on 6443, else the first control-plane node's address; not known while an input is
// unknown, and absent without any.
func TestClusterSyncModel_apiServerURL(t *testing.T) {
	f := newSyncFixture(t)
	servers := f.poolOf("servers", true, false, f.nodeOf(1, "54.0.0.1", "10.0.0.1", "running"))
	workers := f.poolOf("workers", false, false, f.nodeOf(1, "54.0.9.1", "10.0.9.1", "running"))
	for _, tc := range []struct {
		name    string
		cluster map[string]attr.Value
		pools   []attr.Value
		want    string
		ok      bool
	}{
		{"api_server_url", map[string]attr.Value{"api_server_url": types.StringValue("https://lb:6443"), "registration_address": types.StringValue("10.0.0.9")},
			[]attr.Value{servers}, "https://lb:6443", true},
		{"registration address", map[string]attr.Value{"registration_address": types.StringValue("10.0.0.9")}, []attr.Value{servers}, "https://10.0.0.9:6443", true},
		{"first control-plane node", nil, []attr.Value{workers, servers}, "https://54.0.0.1:6443", true},
		{"no control plane", nil, []attr.Value{workers}, "", false},
		{"api_server_url unknown", map[string]attr.Value{"api_server_url": types.StringUnknown()}, []attr.Value{servers}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, ok, diags := f.model(tc.cluster, tc.pools...).apiServerURL(context.Background())
			if diags.HasError() || url != tc.want || ok != tc.ok {
				t.Errorf("apiServerURL = %q, %v (%v); want %q, %v", url, ok, diags, tc.want, tc.ok)
			}
		})
	}
	unknownPools := f.model(nil, servers)
	unknownPools.NodePools = types.ListUnknown(f.pool)
	if url, ok, _ := unknownPools.apiServerURL(context.Background()); ok {
		t.Errorf("with the pools unknown, apiServerURL = %q; want not known", url)
	}
}

// TestClusterSyncModel_members: the cluster's members, known only when the list and every
// name and role are.
func TestClusterSyncModel_members(t *testing.T) {
	f := newSyncFixture(t)
	member := func(name, role types.String) attr.Value {
		return objectOf(t, f.member, map[string]attr.Value{"name": name, "role": role})
	}
	alice := member(types.StringValue("alice"), types.StringValue("cluster-owner"))
	for _, tc := range []struct {
		name    string
		members attr.Value
		want    string
		known   bool
	}{
		{"listed", types.ListValueMust(f.member, []attr.Value{alice}), "[{alice cluster-owner}]", true},
		{"none", types.ListNull(f.member), "[]", true},
		{"list unknown", types.ListUnknown(f.member), "[]", false},
		{"a role unknown", types.ListValueMust(f.member, []attr.Value{alice, member(types.StringValue("bob"), types.StringUnknown())}), "[]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			members, known := f.model(map[string]attr.Value{"members": tc.members}).members(context.Background())
			if got := fmt.Sprint(members); got != tc.want || known != tc.known {
				t.Errorf("members = %s, known %v; want %s, %v", got, known, tc.want, tc.known)
			}
		})
	}
}
