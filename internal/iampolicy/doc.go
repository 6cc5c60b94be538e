// Package iampolicy holds the registry of AWS actions the provisioning client calls and builds
// the IAM policy documents that grant exactly those actions (registry.go, document.go); it also
// builds the policies of the nodes' instance profiles, for the AWS cloud provider and etcd
// snapshots in S3 (node.go), and compares documents statement by statement (canonical.go).
package iampolicy
