package kubeapi

import (
	"context"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Member roles, as Rancher names them.
const (
	RoleOwner    = "cluster-owner"
	RoleMember   = "cluster-member"
	RoleReadOnly = "read-only"
)

// Labels on what the provider makes in the cluster.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "ec2k8s"
	// LabelMember names the member a binding is for.
	LabelMember = "ec2k8s.io/member"
	// LabelProject names the project of a namespace.
	LabelProject = "ec2k8s.io/project"
)

// Member is a user of the cluster (the CommonName of its client certificate) and its role.
type Member struct {
	Name, Role string
}

// binding is one RBAC binding a member gets: cluster-wide when Namespace is empty.
type binding struct {
	Namespace, Name, ClusterRole, Member string
}

// bindingsFor is what a member's role grants: an owner cluster-admin; a member view everywhere
// and edit in the Default project's namespaces (never write access to System's); read-only view.
func bindingsFor(m Member, defaultNamespaces []string) ([]binding, error) {
	name := "ec2k8s:member:" + m.Name
	switch m.Role {
	case RoleOwner:
		return []binding{{Name: name, ClusterRole: "cluster-admin", Member: m.Name}}, nil
	case RoleReadOnly:
		return []binding{{Name: name, ClusterRole: "view", Member: m.Name}}, nil
	case RoleMember:
		out := []binding{{Name: name, ClusterRole: "view", Member: m.Name}}
		for _, ns := range defaultNamespaces {
			out = append(out, binding{Namespace: ns, Name: name, ClusterRole: "edit", Member: m.Name})
		}
		return out, nil
	default:
		return nil, fmt.Errorf("kubeapi: member %s has role %q; want %s, %s or %s", m.Name, m.Role, RoleOwner, RoleMember, RoleReadOnly)
	}
}

func managedLabels(member string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelMember: member}
}

var managedSelector = metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy + "," + LabelMember}

// ApplyMembers makes the cluster's RBAC bindings exactly those of members: missing ones are
// created, those of removed members or changed roles deleted (a binding's role cannot change in
// place, so it is replaced). Only bindings labelled as the provider's are touched.
func (c *Client) ApplyMembers(ctx context.Context, members []Member, defaultNamespaces []string) error {
	want := map[binding]bool{}
	for _, m := range members {
		bs, err := bindingsFor(m, defaultNamespaces)
		if err != nil {
			return err
		}
		for _, b := range bs {
			want[b] = true
		}
	}
	rbac := c.cs.RbacV1()
	crbs, err := rbac.ClusterRoleBindings().List(ctx, managedSelector)
	if err != nil {
		return fmt.Errorf("kubeapi: listing member bindings: %w", err)
	}
	have := map[binding]bool{}
	for _, b := range crbs.Items {
		k := binding{Name: b.Name, ClusterRole: b.RoleRef.Name, Member: b.Labels[LabelMember]}
		if want[k] && b.RoleRef.Kind == "ClusterRole" {
			have[k] = true
			continue
		}
		if err := rbac.ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kubeapi: removing binding %s: %w", b.Name, err)
		}
	}
	rbs, err := rbac.RoleBindings(metav1.NamespaceAll).List(ctx, managedSelector)
	if err != nil {
		return fmt.Errorf("kubeapi: listing member bindings: %w", err)
	}
	for _, b := range rbs.Items {
		k := binding{Namespace: b.Namespace, Name: b.Name, ClusterRole: b.RoleRef.Name, Member: b.Labels[LabelMember]}
		if want[k] && b.RoleRef.Kind == "ClusterRole" {
			have[k] = true
			continue
		}
		if err := rbac.RoleBindings(b.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kubeapi: removing binding %s/%s: %w", b.Namespace, b.Name, err)
		}
	}
	var missing []binding
	for b := range want {
		if !have[b] {
			missing = append(missing, b)
		}
	}
	slices.SortFunc(missing, func(a, b binding) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for _, b := range missing {
		if err := c.createBinding(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) createBinding(ctx context.Context, b binding) error {
	meta := metav1.ObjectMeta{Name: b.Name, Namespace: b.Namespace, Labels: managedLabels(b.Member)}
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: b.Member}}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: b.ClusterRole}
	var err error
	if b.Namespace == "" {
		_, err = c.cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: meta, Subjects: subjects, RoleRef: ref}, metav1.CreateOptions{})
	} else {
		_, err = c.cs.RbacV1().RoleBindings(b.Namespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta, Subjects: subjects, RoleRef: ref}, metav1.CreateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kubeapi: binding %s to %s: %w", b.Member, b.ClusterRole, err)
	}
	return nil
}
