// Package contract holds cross-package tests of the provisioning client against moto behind
// the strict-EC2 proxy: the proxy's own rules (strict_test.go), EC2's limits and error semantics
// (ec2_test.go), the client under exactly the IAM policy iampolicy emits (iam_test.go), under
// injected faults (faults_test.go), the init-and-join rules (join_test.go), and the API calls
// a pool operation costs (bench_test.go).
package contract
