package kubeapi

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
)

// The annotations of RKE2's and k3s's etcd member removal controller (k3s pkg/etcd, whose
// prefix is the program's name): "remove" asks it to remove the node's member; it sets
// "removed-node-name" to the member's name when the member is gone.
func EtcdRemoveAnnotation(distribution string) string {
	return "etcd." + distribution + ".cattle.io/remove"
}

// EtcdRemovedAnnotation is the annotation the controller sets when the member is gone.
func EtcdRemovedAnnotation(distribution string) string {
	return "etcd." + distribution + ".cattle.io/removed-node-name"
}

// Registered says whether the API has a Node of that name.
func (c *Client) Registered(ctx context.Context, name string) (bool, error) {
	_, err := c.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("kubeapi: reading node %s: %w", name, err)
	}
	return true, nil
}

// TakeOut readies a node to leave before its instance goes: cordoned, drained and, when etcd, its
// etcd member removed by the distribution's controller. A node that never registered has nothing
// to drain and no member to ask for.
func (c *Client) TakeOut(ctx context.Context, name, distribution string, etcd bool) error {
	registered, err := c.Registered(ctx, name)
	if err != nil || !registered {
		return err
	}
	if err := c.Cordon(ctx, name); err != nil {
		return err
	}
	if err := c.Drain(ctx, name); err != nil {
		return err
	}
	if etcd {
		return c.RemoveEtcdMember(ctx, name, distribution)
	}
	return nil
}

// Cordon marks a node unschedulable.
func (c *Client) Cordon(ctx context.Context, name string) error {
	_, err := c.cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("kubeapi: cordoning node %s: %w", name, err)
	}
	return nil
}

// Drain evicts the node's pods through the Eviction API, so PodDisruptionBudgets hold (an
// eviction they refuse is tried again until ctx ends), and waits until they are gone.
// DaemonSet pods and mirror pods stay, as with kubectl drain --ignore-daemonsets.
func (c *Client) Drain(ctx context.Context, name string) error {
	for {
		pods, err := c.cs.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("spec.nodeName", name).String()})
		if err != nil {
			return fmt.Errorf("kubeapi: listing the pods of node %s: %w", name, err)
		}
		var left []string
		for _, p := range pods.Items {
			if stays(p) {
				continue
			}
			left = append(left, p.Namespace+"/"+p.Name)
			if p.DeletionTimestamp != nil {
				continue
			}
			err := c.cs.PolicyV1().Evictions(p.Namespace).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}})
			switch {
			case err == nil, apierrors.IsNotFound(err):
			case apierrors.IsTooManyRequests(err):
				c.progress("a PodDisruptionBudget holds a pod back", map[string]any{"node": name, "pod": p.Namespace + "/" + p.Name})
			default:
				return fmt.Errorf("kubeapi: evicting %s/%s from node %s: %w", p.Namespace, p.Name, name, err)
			}
		}
		if len(left) == 0 {
			return nil
		}
		c.progress("draining node", map[string]any{"node": name, "pods": len(left)})
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubeapi: node %s still runs %v: %w", name, left, ctx.Err())
		case <-time.After(c.poll()):
		}
	}
}

// stays says whether a drain leaves the pod: DaemonSet pods (their controller would put them
// back) and mirror pods (the kubelet's own).
func stays(p corev1.Pod) bool {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" && o.Controller != nil && *o.Controller {
			return true
		}
	}
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// RemoveEtcdMember asks the distribution's etcd member controller to remove the node's member
// and waits until it says it did.
func (c *Client) RemoveEtcdMember(ctx context.Context, name, distribution string) error {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, EtcdRemoveAnnotation(distribution))
	if _, err := c.cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("kubeapi: asking for the removal of node %s's etcd member: %w", name, err)
	}
	for {
		n, err := c.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("kubeapi: reading node %s: %w", name, err)
		}
		if n.Annotations[EtcdRemovedAnnotation(distribution)] != "" {
			return nil
		}
		c.progress("waiting for the etcd member to be removed", map[string]any{"node": name})
		select {
		case <-ctx.Done():
			return fmt.Errorf("kubeapi: the etcd member of node %s was not removed (no %s annotation): %w", name, EtcdRemovedAnnotation(distribution), ctx.Err())
		case <-time.After(c.poll()):
		}
	}
}

// DeleteNode deletes a Node object; one already gone is fine.
func (c *Client) DeleteNode(ctx context.Context, name string) error {
	if err := c.cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kubeapi: deleting node %s: %w", name, err)
	}
	return nil
}
