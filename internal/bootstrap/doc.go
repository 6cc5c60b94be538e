// Package bootstrap holds what a cluster's nodes boot with, with no AWS and no network: the
// distributions' rules for cluster settings and their validators (cluster.go, settings.go); the
// cluster's CA set and join tokens (pki.go) and the client certificates and kubeconfigs issued
// from it (access.go); a node's boot inputs (node.go) and its cloud-init user data by role,
// for RKE2 and k3s (distro.go, files.go, script.go, ccm.go, userdata.go). Pure functions,
// with randomness and time injected.
package bootstrap
