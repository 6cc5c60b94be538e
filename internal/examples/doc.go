// Package examples checks examples/ as a user would use it, under the CLI the acceptance suite
// runs with (Terraform or OpenTofu): every directory is formatted, every directory that needs no
// provider but ec2k8s validates, and the quickstart and the production example (through the
// module in examples/modules/ec2k8s-cluster) are applied against moto on 127.0.0.1, checked and
// destroyed. The examples are copied unchanged; the tests only add how to reach moto.
package examples
