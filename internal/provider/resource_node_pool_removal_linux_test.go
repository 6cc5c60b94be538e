//go:build linux

package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/acctest"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/kubeapi"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/nodesandbox"
	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/provisioning"
)

// TestAccNodePool_etcdScaleDownThroughTheAPI: without the cluster's API an etcd scale-down is
// refused at plan; with it (a real kube-apiserver started from the init node's files), a
// scale-down from 3 to 1 takes each leaving node out in order — cordoned, drained, its member
// removed by the distribution's controller (played by the test), its instance terminated, its
// Node deleted — one at a time, newest first.
func TestAccNodePool_etcdScaleDownThroughTheAPI(t *testing.T) {
	moto, cli := cliOnMoto(t)
	config := func(quantity int, apiURL string) string {
		api := ""
		if apiURL != "" {
			api = fmt.Sprintf("  api_server_url = %q\n", apiURL)
		}
		return acctest.CredentialConfig("aws", "us-west-2", acctest.AccessKey, acctest.SecretKey) + `
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}

resource "ec2k8s_cluster" "demo" {
  name               = "demo"
  cloud_credential   = ec2k8s_cloud_credential.aws
  install_script_url = "` + nodesandbox.InstallerURL + `"
` + api + `}
` + poolHCL("etcd", quantity, "etcd", "control_plane")
	}
	cli.Write(config(3, ""))
	t.Cleanup(func() {
		// Destroy plans the configuration first: keep it to what the state has, so an etcd
		// scale-down that did not happen is not refused again on the way out.
		if pool := cli.StateResource(nodePoolAddr("etcd")); pool != nil {
			cli.Write(config(int(pool.AttributeValues["quantity"].(float64)), ""))
		}
		destroyAndCheck(t, cli, moto)
	})
	cli.Apply()

	// No API: refused at plan, nothing changes.
	cli.Write(config(1, ""))
	if _, stderr, code := cli.Run("plan", "-input=false", "-no-color"); code == 0 || !acctest.ErrorRe("etcd members would be left behind").MatchString(stderr) {
		t.Fatalf("plan of an etcd scale-down without the API exited %d; want it refused\n%s", code, stderr)
	}

	// The API, from the init node's files; kubelet stand-ins register the three nodes.
	ids := map[string]string{} // node name → instance ID
	for _, i := range clusterInstances(t, moto) {
		ids[acctest.TagValue(i.Tags, provisioning.TagName)] = *i.InstanceId
	}
	kube := apiFromInitNode(t, moto, "demo-etcd-1", "demo-etcd-1", "demo-etcd-2", "demo-etcd-3")
	admin := kube.Clientset(t, kube.Admin)
	ctx := context.Background()
	if _, err := admin.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"demo-etcd-3", "demo-etcd-2"} { // each leaving node has a pod to drain
		if _, err := admin.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app-on-" + node},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "app"}}}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// The test plays the kubelets (pods evicted from their node go) and RKE2's etcd member
	// controller, and writes down what it sees when each removal is asked for; it also watches,
	// every 100 ms, for an order broken between two polls: a pod evicted from a node not yet
	// cordoned, a Node deleted while its instance still runs.
	stop := make(chan struct{})
	var mu sync.Mutex
	var events, broken []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			e, b, err := playCluster(admin, moto, ids)
			if err != nil {
				t.Errorf("playing the cluster: %v", err) // not Fatal: this is not the test's goroutine
			}
			mu.Lock()
			events, broken = append(events, e...), append(broken, b...)
			mu.Unlock()
		}
	}()
	cli.Write(config(1, kube.URL))
	cli.Apply()
	close(stop)
	<-done
	if len(broken) > 0 {
		t.Errorf("out of order: %q", broken)
	}

	// Newest first, one at a time: each asked for when cordoned and drained, still running, and
	// the previous one already terminated with its Node gone.
	want := []string{
		"remove demo-etcd-3: cordoned, drained, running; gone before it: none",
		"remove demo-etcd-2: cordoned, drained, running; gone before it: demo-etcd-3",
	}
	if !slices.Equal(events, want) {
		t.Errorf("member removals\n got %q\nwant %q", events, want)
	}
	nodes, err := admin.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes.Items {
		names = append(names, n.Name)
	}
	if !slices.Equal(names, []string{"demo-etcd-1"}) {
		t.Errorf("Node objects left: %v; want demo-etcd-1 only", names)
	}
	live := clusterInstances(t, moto)
	if len(live) != 1 || *live[0].InstanceId != ids["demo-etcd-1"] {
		t.Errorf("%d live instances; want demo-etcd-1's only", len(live))
	}
}

// playCluster does, once, what the kubelets and the etcd member controller would: deletes pods
// being evicted, and removes the member of a node annotated for removal, noting what it saw
// (events); broken notes what it saw out of order: a pod evicted from a node that is not
// cordoned, or the Node of an instance that is not terminated yet deleted.
func playCluster(cs kubernetes.Interface, moto *acctest.Moto, ids map[string]string) (events, broken []string, err error) {
	ctx := context.Background()
	// Pods, then Nodes, then instances: each step of a removal comes after the one before it, so
	// what a later read shows was already so when an earlier one saw its consequence.
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]corev1.Node{}
	for _, n := range nodes.Items {
		byName[n.Name] = n
	}
	states, err := instanceStates(moto)
	if err != nil {
		return nil, nil, err
	}
	// gone: the Node deleted and the instance terminated; a Node deleted first is out of order.
	var gone []string
	for name, id := range ids {
		if _, ok := byName[name]; ok {
			continue
		}
		if _, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			continue // listed a moment ago, or the API did not answer: not known to be deleted
		}
		if states[id] != "terminated" {
			broken = append(broken, fmt.Sprintf("the Node %s was deleted while its instance was %s", name, states[id]))
			continue
		}
		gone = append(gone, name)
	}
	slices.Sort(gone)
	if len(gone) == 0 {
		gone = []string{"none"}
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			continue
		}
		if n, ok := byName[p.Spec.NodeName]; ok && !n.Spec.Unschedulable {
			broken = append(broken, fmt.Sprintf("pod %s was evicted from %s before it was cordoned", p.Name, n.Name))
		}
		zero := int64(0)
		_ = cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
	}
	for _, n := range nodes.Items {
		if n.Annotations[kubeapi.EtcdRemoveAnnotation("rke2")] != "true" || n.Annotations[kubeapi.EtcdRemovedAnnotation("rke2")] != "" {
			continue
		}
		left, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", n.Name).String()})
		if err != nil {
			return events, broken, err
		}
		drained := "drained"
		if len(left.Items) > 0 {
			drained = fmt.Sprintf("%d pods left", len(left.Items))
		}
		cordoned := "not cordoned"
		if n.Spec.Unschedulable {
			cordoned = "cordoned"
		}
		events = append(events, fmt.Sprintf("remove %s: %s, %s, %s; gone before it: %s", n.Name, cordoned, drained, states[ids[n.Name]], strings.Join(gone, ", ")))
		patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, kubeapi.EtcdRemovedAnnotation("rke2"), n.Name)
		if _, err := cs.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return events, broken, fmt.Errorf("playing the etcd member controller: %w", err)
		}
	}
	return events, broken, nil
}

// instanceStates is the state of every instance of the cluster moto knows, by ID.
func instanceStates(m *acctest.Moto) (map[string]string, error) {
	instances, err := acctest.FindInstances(m, "us-west-2", acctest.TagFilter(provisioning.TagCluster, "demo"))
	if err != nil {
		return nil, err
	}
	states := map[string]string{}
	for _, i := range instances {
		states[aws.ToString(i.InstanceId)] = string(i.State.Name)
	}
	return states, nil
}
