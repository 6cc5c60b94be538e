package kubeapi

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// bindings lists the provider's bindings as "namespace/name→role" (cluster-wide: "/name→role").
func bindings(t *testing.T, c *Client) []string {
	t.Helper()
	var out []string
	crbs, err := c.cs.RbacV1().ClusterRoleBindings().List(context.Background(), managedSelector)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range crbs.Items {
		out = append(out, "/"+b.Name+"→"+b.RoleRef.Name+" for "+b.Subjects[0].Name)
	}
	rbs, err := c.cs.RbacV1().RoleBindings("").List(context.Background(), managedSelector)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rbs.Items {
		out = append(out, b.Namespace+"/"+b.Name+"→"+b.RoleRef.Name+" for "+b.Subjects[0].Name)
	}
	slices.Sort(out)
	return out
}

// TestApplyMembers: each role gets its bindings; a changed role replaces them, a removed member
// loses them, and bindings the provider did not make are left alone.
func TestApplyMembers(t *testing.T) {
	theirs := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"},
		RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "carol"}}}
	c := NewForClientset(fake.NewClientset(theirs))
	ctx := context.Background()
	members := []Member{{"alice", RoleOwner}, {"bob", RoleMember}, {"dan", RoleReadOnly}}
	if err := c.ApplyMembers(ctx, members, DefaultNamespaces); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/ec2k8s:member:alice→cluster-admin for alice",
		"/ec2k8s:member:bob→view for bob",
		"/ec2k8s:member:dan→view for dan",
		"default/ec2k8s:member:bob→edit for bob",
	}
	if got := bindings(t, c); !slices.Equal(got, want) {
		t.Errorf("bindings\n got %v\nwant %v", got, want)
	}
	// bob becomes read-only, dan leaves.
	if err := c.ApplyMembers(ctx, []Member{{"alice", RoleOwner}, {"bob", RoleReadOnly}}, DefaultNamespaces); err != nil {
		t.Fatal(err)
	}
	want = []string{"/ec2k8s:member:alice→cluster-admin for alice", "/ec2k8s:member:bob→view for bob"}
	if got := bindings(t, c); !slices.Equal(got, want) {
		t.Errorf("after the change\n got %v\nwant %v", got, want)
	}
	if _, err := c.cs.RbacV1().ClusterRoleBindings().Get(ctx, "someone-elses", metav1.GetOptions{}); err != nil {
		t.Errorf("a binding the provider did not make is gone: %v", err)
	}
	if err := c.ApplyMembers(ctx, []Member{{"eve", "admin"}}, DefaultNamespaces); err == nil {
		t.Error("an unknown role was applied")
	}
}

// TestApplyProjects: the Default and System namespaces carry their project; isolation puts a
// policy in Default's namespaces that admits its own project and System, and goes away when
// turned off.
func TestApplyProjects(t *testing.T) {
	var objs []runtime.Object
	for _, ns := range []string{"default", "kube-system", "kube-public", "calico-system"} {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	c := NewForClientset(fake.NewClientset(objs...))
	ctx := context.Background()
	projects, err := c.ApplyProjects(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(projects) != 2 || !slices.Equal(projects[1].Namespaces, []string{"kube-system", "kube-public", "kube-node-lease", "calico-system"}) {
		t.Errorf("projects %+v", projects)
	}
	for _, p := range projects {
		for _, name := range p.Namespaces {
			ns, err := c.cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			if err != nil || ns.Labels[LabelProject] != p.Name {
				t.Errorf("namespace %s: labels %v (%v); want project %s", name, ns.GetLabels(), err, p.Name)
			}
		}
	}
	np, err := c.cs.NetworkingV1().NetworkPolicies("default").Get(ctx, IsolationPolicy, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var from []string
	for _, peer := range np.Spec.Ingress[0].From {
		from = append(from, peer.NamespaceSelector.MatchLabels[LabelProject])
	}
	if !slices.Equal(from, []string{ProjectDefault, ProjectSystem}) || len(np.Spec.PodSelector.MatchLabels) != 0 {
		t.Errorf("isolation admits %v; want its own project and System, for every pod", from)
	}
	if _, err := c.cs.NetworkingV1().NetworkPolicies("kube-system").Get(ctx, IsolationPolicy, metav1.GetOptions{}); err == nil {
		t.Error("System's namespaces are isolated: pods would lose DNS")
	}
	if _, err := c.ApplyProjects(ctx, false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.NetworkingV1().NetworkPolicies("default").Get(ctx, IsolationPolicy, metav1.GetOptions{}); err == nil {
		t.Error("the isolation stays after it was turned off")
	}
}
