// Package iampolicy holds the registry of AWS actions the provisioning client calls and builds
// the IAM policy documents that grant exactly those actions.
package iampolicy
