package bootstrap

import (
	"bytes"
	"fmt"
	"text/template"
)

// ccmVersions pins the aws-cloud-controller-manager release of each Kubernetes minor: the newest
// patch of the release line kubernetes/cloud-provider-aws keeps for it (its tags, 2026-07).
var ccmVersions = map[int]string{30: "v1.30.10", 31: "v1.31.9", 32: "v1.32.8", 33: "v1.33.4", 34: "v1.34.3"}

// CCMImage is the aws-cloud-controller-manager image for a cluster's Kubernetes version.
func CCMImage(kubernetesVersion string) (string, error) {
	for _, dist := range Distributions {
		if v := parse(dist, kubernetesVersion); v != nil {
			if tag, ok := ccmVersions[v[0]]; ok {
				return "registry.k8s.io/provider-aws/cloud-controller-manager:" + tag, nil
			}
			return "", fmt.Errorf("bootstrap: no aws-cloud-controller-manager is pinned for Kubernetes 1.%d", v[0])
		}
	}
	return "", fmt.Errorf("bootstrap: %q is not a release of a supported distribution", kubernetesVersion)
}

// ccmTemplate is the aws-cloud-controller-manager as kubernetes/cloud-provider-aws deploys it on
// an existing cluster (examples/existing-cluster/base): a DaemonSet on the control plane with
// its ServiceAccount and RBAC, for the servers' auto-deploy manifests directory. RKE2 and k3s
// label their servers node-role.kubernetes.io/control-plane=true; it tolerates every taint: those
// of dedicated servers, a template's own node_taints, and the uninitialized taint every node
// carries until it has run (until then nothing else is scheduled there).
var ccmTemplate = template.Must(template.New("ccm").Option("missingkey=error").Parse(`# aws-cloud-controller-manager (ec2k8s: cloud_provider = "aws")
apiVersion: v1
kind: ServiceAccount
metadata:
  name: cloud-controller-manager
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:cloud-controller-manager
rules:
  - {apiGroups: [""], resources: [events], verbs: [create, patch, update]}
  - {apiGroups: [""], resources: [nodes], verbs: ["*"]}
  - {apiGroups: [""], resources: [nodes/status], verbs: [patch]}
  - {apiGroups: [""], resources: [services, services/status], verbs: [list, patch, update, watch]}
  - {apiGroups: [""], resources: [serviceaccounts], verbs: [create, get, list, watch]}
  - {apiGroups: [""], resources: [serviceaccounts/token], verbs: [create]}
  - {apiGroups: [""], resources: [persistentvolumes], verbs: [get, list, update, watch]}
  - {apiGroups: [""], resources: [endpoints], verbs: [create, get, list, watch, update]}
  - {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [create, get, list, watch, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:cloud-controller-manager
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:cloud-controller-manager}
subjects:
  - {kind: ServiceAccount, name: cloud-controller-manager, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: cloud-controller-manager:apiserver-authentication-reader
  namespace: kube-system
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader}
subjects:
  - {kind: ServiceAccount, name: cloud-controller-manager, namespace: kube-system}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: aws-cloud-controller-manager
  namespace: kube-system
  labels: {k8s-app: aws-cloud-controller-manager}
spec:
  selector:
    matchLabels: {k8s-app: aws-cloud-controller-manager}
  updateStrategy: {type: RollingUpdate}
  template:
    metadata:
      labels: {k8s-app: aws-cloud-controller-manager}
    spec:
      nodeSelector: {node-role.kubernetes.io/control-plane: "true"}
      tolerations:
        - operator: Exists
      serviceAccountName: cloud-controller-manager
      priorityClassName: system-node-critical
      hostNetwork: true
      containers:
        - name: aws-cloud-controller-manager
          image: {{ .Image }}
          args: [--v=2, --cloud-provider=aws, --use-service-account-credentials=true, --configure-cloud-routes=false]
          resources:
            requests: {cpu: 200m}
`))

func ccmManifest(kubernetesVersion string) (string, error) {
	image, err := CCMImage(kubernetesVersion)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := ccmTemplate.Execute(&b, map[string]string{"Image": image}); err != nil {
		return "", fmt.Errorf("bootstrap: rendering the cloud controller manager: %w", err)
	}
	return b.String(), nil
}
