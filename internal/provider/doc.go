// Package provider is the Terraform face of ec2k8s: schemas, models and diagnostics that
// translate configuration into calls to the domain packages.
package provider
