// Package kubeapi talks to a cluster's Kubernetes API with the credentials the provider holds
// (client certificates from the cluster's client CA), through client-go: it waits until the
// cluster is Active (client.go), gives members their RBAC bindings (access.go), keeps the
// Default and System projects and their network isolation (projects.go), and takes nodes out
// before their instances go: cordon, drain, etcd member removal (TakeOut), Node deletion
// (removal.go).
// It imports nothing from terraform-plugin-*.
package kubeapi
