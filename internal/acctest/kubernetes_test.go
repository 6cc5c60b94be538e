package acctest

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestStartKubernetes: the API server reports the pinned version, answers as the admin, and the
// real RBAC authorizer gives a user bound to view what view grants and nothing more.
func TestStartKubernetes(t *testing.T) {
	k := StartKubernetes(t, NewKubeTLSFiles(t))
	admin := k.Kubeconfig(t, "admin", k.Admin)
	if out, err := k.Kubectl(t, admin, "version", "-o", "json"); err != nil || !strings.Contains(out, `"gitVersion": "v1.34.`) {
		t.Errorf("kubectl version: %v\n%s", err, out)
	}
	ctx := context.Background()
	view, err := k.Clientset(t, k.Admin).RbacV1().ClusterRoles().Get(ctx, "view", metav1.GetOptions{})
	if err != nil || len(view.Rules) == 0 {
		t.Fatalf("the view role is not aggregated: %v", err)
	}
	if out, err := k.Kubectl(t, admin, "create", "clusterrolebinding", "viewer", "--clusterrole=view", "--user=viewer"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cert, err := k.IssueClientCert("viewer")
	if err != nil {
		t.Fatal(err)
	}
	viewer := k.Kubeconfig(t, "viewer", cert)
	if out, err := k.Kubectl(t, viewer, "get", "pods", "-A"); err != nil {
		t.Errorf("a viewer cannot list pods: %v\n%s", err, out)
	}
	if out, err := k.Kubectl(t, viewer, "create", "namespace", "x"); err == nil || !strings.Contains(out, "forbidden") {
		t.Errorf("a viewer created a namespace: %v\n%s", err, out)
	}
}
