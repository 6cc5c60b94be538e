// Package nodesandbox boots a node's user data with real cloud-init, the way an EC2 node boots,
// for tests. It is test support: only _test.go files import it.
//
// A boot (Boot) runs in a private mount, network, UTS, IPC and PID namespace of the test's own
// (the test binary re-executes itself as the sandbox; see the package init): an overlay of a
// cached Debian trixie root (tools/tools.sh sandbox, $EC2K8S_SANDBOX_ROOT) is the node's disk,
// so the cache is never modified and every boot starts clean. Inside, 169.254.169.254:80 is an
// IMDSv2 stub serving the node's metadata (tokens required, as with http_tokens=required), and
// 127.0.0.1:8080 serves a stub installer (InstallerURL) and any extra files. systemctl,
// hostnamectl and hostname are stand-ins that record every call. The user data is the NoCloud
// seed, and cloud-init runs its four boot stages in a chroot: init --local, init, modules
// --mode=config, modules --mode=final. The Result has cloud-init's status, its logs, every file
// the boot created, changed or deleted, the recorded calls and installer runs, the metadata
// requests and the node's hostname; Boot reports, the test decides.
//
// Boot needs root and the cached root: without them it skips the test with what to run, or
// fails it when EC2K8S_REQUIRE_SANDBOX is set (as `make unit` and `make sandbox` do).
//
// MergeConfigs and MergedConfig merge RKE2/k3s config files the way those distributions do.
package nodesandbox
