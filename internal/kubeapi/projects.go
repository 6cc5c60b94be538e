package kubeapi

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Projects, as Rancher makes them for every cluster.
const (
	ProjectDefault = "default"
	ProjectSystem  = "system"
	// IsolationPolicy is the NetworkPolicy of project network isolation in each namespace of a
	// project other than System.
	IsolationPolicy = "ec2k8s-project-isolation"
)

// Project is a project and its namespaces.
type Project struct {
	Name       string
	Namespaces []string
}

// DefaultNamespaces are the Default project's namespaces.
var DefaultNamespaces = []string{"default"}

// systemNamespaces are the System project's namespaces, those Kubernetes always has first; the
// others are the distributions' and network plugins' own, when they exist.
var (
	systemNamespaces         = []string{"kube-system", "kube-public", "kube-node-lease"}
	optionalSystemNamespaces = []string{"calico-system", "calico-apiserver", "tigera-operator", "cattle-system"}
)

// ApplyProjects labels the namespaces of the Default and System projects with their project and,
// with isolation, puts Rancher's project network isolation in place: in each Default namespace a
// NetworkPolicy that admits traffic from the same project and from System only (System's own
// namespaces are not isolated: everything needs DNS). Without isolation the policies are removed.
func (c *Client) ApplyProjects(ctx context.Context, isolation bool) ([]Project, error) {
	system := append([]string{}, systemNamespaces...)
	for _, ns := range optionalSystemNamespaces {
		if _, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil {
			system = append(system, ns)
		} else if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("kubeapi: reading namespace %s: %w", ns, err)
		}
	}
	projects := []Project{{Name: ProjectDefault, Namespaces: DefaultNamespaces}, {Name: ProjectSystem, Namespaces: system}}
	for _, p := range projects {
		for _, ns := range p.Namespaces {
			if err := c.labelNamespace(ctx, ns, p.Name); err != nil {
				return nil, err
			}
		}
	}
	for _, ns := range DefaultNamespaces {
		if err := c.isolate(ctx, ns, ProjectDefault, isolation); err != nil {
			return nil, err
		}
	}
	return projects, nil
}

func (c *Client) labelNamespace(ctx context.Context, ns, project string) error {
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, LabelProject, project)
	if _, err := c.cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			// kube-node-lease and kube-public appear with the first controllers; create them
			// rather than wait, as the API server would.
			_, err = c.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{LabelProject: project}}}, metav1.CreateOptions{})
			if err == nil || apierrors.IsAlreadyExists(err) {
				return nil
			}
		}
		return fmt.Errorf("kubeapi: labelling namespace %s with project %s: %w", ns, project, err)
	}
	return nil
}

func (c *Client) isolate(ctx context.Context, ns, project string, on bool) error {
	policies := c.cs.NetworkingV1().NetworkPolicies(ns)
	if !on {
		if err := policies.Delete(ctx, IsolationPolicy, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kubeapi: removing the isolation of namespace %s: %w", ns, err)
		}
		return nil
	}
	from := func(p string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelProject: p}}}
	}
	want := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: IsolationPolicy, Namespace: ns, Labels: map[string]string{LabelManagedBy: ManagedBy, LabelProject: project}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{from(project), from(ProjectSystem)}}},
		},
	}
	got, err := policies.Get(ctx, IsolationPolicy, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = policies.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		got.Spec, got.Labels = want.Spec, want.Labels
		_, err = policies.Update(ctx, got, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("kubeapi: isolating namespace %s: %w", ns, err)
	}
	return nil
}
