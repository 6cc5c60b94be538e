// Package contract holds cross-package tests against moto: the provisioning client under exactly
// the IAM policy that iampolicy emits, and under injected faults.
package contract
