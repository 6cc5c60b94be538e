package kubeapi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
)

// TestDrainRespectsPodDisruptionBudgets, against a real kube-apiserver (its Eviction API is
// what enforces budgets): a running pod under a budget that allows no disruption is not evicted,
// and the drain ends with the timeout naming the pod; once the budget allows one disruption
// (the test plays the disruption controller), the same drain evicts it. DaemonSet pods stay.
func TestDrainRespectsPodDisruptionBudgets(t *testing.T) {
	k := acctest.StartKubernetes(t, acctest.NewKubeTLSFiles(t))
	cs := k.Clientset(t, k.Admin)
	ctx := context.Background()
	c := NewForClientset(cs)
	c.Poll = 100 * time.Millisecond

	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The service account controller's part (not run here): the namespace's default account.
	if _, err := cs.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	runningPod(t, cs, "web", map[string]string{"app": "web"}, nil)
	yes := true
	runningPod(t, cs, "agent", map[string]string{"app": "agent"},
		[]metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "agent", UID: "0", Controller: &yes}})
	one := intstr.FromInt32(1)
	pdb, err := cs.PolicyV1().PodDisruptionBudgets("default").Create(ctx, &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The kubelet's part: a pod being deleted is gone once the kubelet confirms.
	stop := playKubelet(cs)
	defer stop()

	held, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err = c.Drain(held, "w1")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "default/web") {
		t.Fatalf("drain under a budget that allows nothing: %v", err)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("the budget did not hold the pod: %v", err)
	}

	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, DisruptionsAllowed: 1,
		CurrentHealthy: 2, DesiredHealthy: 1, ExpectedPods: 2}
	if _, err := cs.PolicyV1().PodDisruptionBudgets("default").UpdateStatus(ctx, pdb, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	done, cancel2 := context.WithTimeout(ctx, 30*time.Second)
	defer cancel2()
	if err := c.Drain(done, "w1"); err != nil {
		t.Fatalf("drain once the budget allows it: %v", err)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "web", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the pod is still there after the drain: %v", err)
	}
	if _, err := cs.CoreV1().Pods("default").Get(ctx, "agent", metav1.GetOptions{}); err != nil {
		t.Errorf("the drain removed a DaemonSet pod: %v", err)
	}
}

// runningPod creates a pod bound to node w1 and reports it Running and Ready, as its kubelet would.
func runningPod(t *testing.T, cs kubernetes.Interface, name string, labels map[string]string, owners []metav1.OwnerReference) {
	t.Helper()
	ctx := context.Background()
	p, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, OwnerReferences: owners},
		Spec:       corev1.PodSpec{NodeName: "w1", Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/c"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if _, err := cs.CoreV1().Pods("default").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// playKubelet finishes the deletion of pods marked for deletion (what the kubelet does once their
// containers stopped), until stopped.
func playKubelet(cs kubernetes.Interface) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		zero := int64(0)
		for ctx.Err() == nil {
			pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
			if err == nil {
				for _, p := range pods.Items {
					if p.DeletionTimestamp != nil {
						_ = cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}
