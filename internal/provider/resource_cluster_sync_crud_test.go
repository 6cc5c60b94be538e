package provider

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/bootstrap"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/kubeapi"
)

// TestSyncNodesValue: every node the API has, with its pool and the pool's roles; a node of no
// pool has neither.
func TestSyncNodesValue(t *testing.T) {
	pools := []syncPool{{name: "servers", roles: []string{"controlplane", "etcd"}, names: []string{"demo-servers-1"}}}
	status := kubeapi.Status{Nodes: []kubeapi.NodeStatus{{Name: "demo-servers-1", Ready: true, KubeletVersion: "v1.34.1"}, {Name: "stray", KubeletVersion: "v1.33.0"}}}
	var got []struct {
		Name           string   `tfsdk:"name"`
		Pool           string   `tfsdk:"pool"`
		Roles          []string `tfsdk:"roles"`
		Ready          bool     `tfsdk:"ready"`
		KubeletVersion string   `tfsdk:"kubelet_version"`
	}
	if d := syncNodesValue(status, pools).ElementsAs(context.Background(), &got, false); d.HasError() {
		t.Fatal(d)
	}
	if want := "[{demo-servers-1 servers [controlplane etcd] true v1.34.1} {stray  [] false v1.33.0}]"; fmt.Sprint(got) != want {
		t.Errorf("nodes\n got %v\nwant %s", got, want)
	}
	if empty := syncNodesValue(kubeapi.Status{}, nil); empty.IsNull() || len(empty.Elements()) != 0 {
		t.Errorf("no nodes = %s; want an empty list", empty)
	}
}

func TestProjectsValue(t *testing.T) {
	var got []struct {
		Name       string   `tfsdk:"name"`
		Namespaces []string `tfsdk:"namespaces"`
	}
	list := projectsValue([]kubeapi.Project{{Name: "default", Namespaces: []string{"default"}}, {Name: "system", Namespaces: []string{"kube-system", "kube-public"}}})
	if d := list.ElementsAs(context.Background(), &got, false); d.HasError() {
		t.Fatal(d)
	}
	if want := "[{default [default]} {system [kube-system kube-public]}]"; fmt.Sprint(got) != want {
		t.Errorf("projects %v; want %s", got, want)
	}
}

// TestMemberCertFromKubeconfig: a member's key comes back from the kubeconfig the sync wrote, so
// the certificate is kept; from anything else, no certificate (one is issued again).
func TestMemberCertFromKubeconfig(t *testing.T) {
	p, err := bootstrap.NewPKI(rand.Reader, time.Now(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.IssueClientCert(rand.Reader, time.Now(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	kc, err := bootstrap.Kubeconfig("demo", "https://10.0.0.1:6443", p.ServerCABundle(), "alice", cert)
	if err != nil {
		t.Fatal(err)
	}
	if got := memberCertFromKubeconfig(cert.Cert, kc); got.Cert != cert.Cert || got.Key != cert.Key {
		t.Errorf("from its kubeconfig: %+v; want the certificate and its key", got)
	}
	if got := memberCertFromKubeconfig(cert.Cert, "not a kubeconfig"); got != (bootstrap.ClientCert{}) {
		t.Errorf("from garbage: %+v; want none", got)
	}
}
