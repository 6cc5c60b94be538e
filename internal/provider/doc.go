// Package provider is the Terraform face of ec2k8s: schemas, models and diagnostics that
// translate configuration into calls to the domain packages. It is the only package that
// imports terraform-plugin-* or logs.
//
// # Where things are
//
// Every resource ec2k8s_<name> is split the same way, by when its code runs:
//
//   - resource_<name>.go is what Terraform sees of it: the constructor new<Name>Resource, the
//     interface assertions, the resource type, its model struct(s) with their attribute types
//     and the methods that decode them, Metadata, Schema (with its defaults and the validation
//     functions it names), Configure and ImportState.
//   - resource_<name>_plan.go is what a plan runs: ValidateConfig, ModifyPlan and the helpers
//     only they call. No AWS call; one Kubernetes call, the node pool's probe of the cluster's
//     API when a plan would remove etcd nodes.
//   - resource_<name>_crud.go is what an apply and a refresh run: Create, Read, Update, Delete
//     and the helpers only they call.
//   - resource_<name>_<topic>.go holds one topic that both sides use or that stands alone: the
//     node pool's _spec.go (what nodes are launched and booted with, and its hash) and
//     _removal.go (nodes leaving through the cluster's API).
//
// A resource's model lives with its resource, even when other resources decode the same object
// (clusterModel, nodeTemplateModel). models.go holds only what no single resource owns: the
// credential object that node templates and clusters receive. Code several resources or data
// sources share is in common_<topic>.go (validators, provider data, received objects, import by
// name, operation timeouts, the IAM policy documents). A data source has no plan/apply split and
// is one file, data_source_<name>.go. The tests of a file are in <file>_test.go: unit tests
// (Test*) of its helpers and, next to resource_<name>.go, the resource's acceptance tests
// (TestAcc*); resource_<name>_<topic>_test.go holds an acceptance suite of one topic (the CLI
// harness, faults, IAM, what needs Linux).
package provider
