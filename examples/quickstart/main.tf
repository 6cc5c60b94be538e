# Quickstart: the recommended topology in small. One node template, three node pools with one
# role each (etcd, control plane, worker; one node apiece), the IAM policy the provisioning client
# needs, and an ec2k8s_cluster_sync that waits until Kubernetes is Active and hands out a
# kubeconfig.
#
# Against AWS it works unchanged, with the credentials of your environment (AWS_PROFILE,
# AWS_ACCESS_KEY_ID, SSO, ...):
#
#   terraform init && terraform apply
#   terraform output -raw kubeconfig > kubeconfig && KUBECONFIG=$PWD/kubeconfig kubectl get nodes
#
# `make demo` applies it against a local EC2 emulator with -var wait_for_active=false: there no
# node boots, so no kubelet ever registers and there is nothing to wait for.
#
# For production (etcd x3, control plane x2, workers x2, a load balancer in front of the servers)
# see ../production, which uses the module in ../modules/ec2k8s-cluster.
terraform {
  required_version = ">= 1.5"
  required_providers {
    ec2k8s = {
      source = "ec2k8s/ec2k8s"
    }
  }
}

variable "region" {
  description = "Region the cluster's nodes run in."
  type        = string
  default     = "us-west-2"
}

variable "node_role_names" {
  description = "IAM roles the nodes' instance profiles carry (adds iam:PassRole to the policy); empty for none."
  type        = list(string)
  default     = []
}

variable "wait_for_active" {
  description = "Wait until Kubernetes is Active (API ready, every node registered and Ready) and output a kubeconfig. Set it to false where no node can boot, such as a local EC2 emulator (`make demo` does)."
  type        = bool
  default     = true
}

provider "ec2k8s" {}

# Who the AWS SDK's default chain is: the account the IAM policy is for.
data "ec2k8s_caller_identity" "current" {}

# No keys given: the AWS SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, ...), checked
# with STS at apply.
resource "ec2k8s_cloud_credential" "aws" {
  name   = "aws"
  region = var.region
}

# Defaults: zone "a" of the region, its default VPC and subnet, the newest Ubuntu 24.04 LTS,
# t3.medium, an encrypted 32 GiB root volume, IMDSv2 only, the managed "rancher-nodes" group.
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}

# What the credential's identity must be allowed to do: attach it before the first apply
# (`terraform plan` prints it, since it needs nothing that is created).
data "ec2k8s_iam_policy" "provisioner" {
  region          = var.region
  account_id      = data.ec2k8s_caller_identity.current.account_id
  pass_role_names = var.node_role_names
}

resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
}

# Each role in its own pool, as in production, one node each. One etcd node tolerates no
# failure: production has three (../production).
resource "ec2k8s_node_pool" "etcd" {
  cluster       = ec2k8s_cluster.demo
  node_template = ec2k8s_node_template.ubuntu
  name          = "etcd"
  quantity      = 1
  etcd          = true
}

resource "ec2k8s_node_pool" "control_plane" {
  cluster       = ec2k8s_cluster.demo
  node_template = ec2k8s_node_template.ubuntu
  name          = "control-plane"
  quantity      = 1
  control_plane = true
}

resource "ec2k8s_node_pool" "worker" {
  cluster       = ec2k8s_cluster.demo
  node_template = ec2k8s_node_template.ubuntu
  name          = "worker"
  quantity      = 1
  worker        = true
}

# Waits until the cluster is Active, then hands out an admin kubeconfig. Only when
# wait_for_active is true: it needs the nodes to boot and reach each other, which they do on
# AWS and not on an emulator.
resource "ec2k8s_cluster_sync" "demo" {
  count = var.wait_for_active ? 1 : 0

  cluster    = ec2k8s_cluster.demo
  node_pools = [ec2k8s_node_pool.etcd, ec2k8s_node_pool.control_plane, ec2k8s_node_pool.worker]
}

locals {
  pools = [ec2k8s_node_pool.etcd, ec2k8s_node_pool.control_plane, ec2k8s_node_pool.worker]
}

output "nodes" {
  description = "Every node of the cluster: its pool and roles, node name, EC2 instance, private address and instance state."
  value = flatten([for p in local.pools : [for n in p.nodes : {
    pool        = p.name
    roles       = n.roles
    name        = n.hostname
    instance_id = n.instance_id
    private_ip  = n.private_ip
    state       = n.state
  }]])
}

output "cluster_state" {
  description = "`active` once ec2k8s_cluster_sync saw the cluster Active; without it (wait_for_active = false), a sentence saying Kubernetes was not checked."
  value       = var.wait_for_active ? one(ec2k8s_cluster_sync.demo[*].state) : "not checked: wait_for_active = false, so no ec2k8s_cluster_sync waited for Kubernetes"
}

output "api_server_url" {
  description = "The Kubernetes API's URL; null without the sync."
  value       = one(ec2k8s_cluster_sync.demo[*].api_server_url)
}

output "kubeconfig" {
  description = "An admin kubeconfig: `terraform output -raw kubeconfig > kubeconfig`. Null without the sync (wait_for_active = false)."
  value       = one(ec2k8s_cluster_sync.demo[*].kubeconfig)
  sensitive   = true
}

output "account" {
  description = "The identity the credential resolved to."
  value       = ec2k8s_cloud_credential.aws.arn
}

output "node_template" {
  description = "What the template resolved against EC2."
  value = {
    availability_zone = ec2k8s_node_template.ubuntu.availability_zone
    vpc_id            = ec2k8s_node_template.ubuntu.vpc_id
    subnet_id         = ec2k8s_node_template.ubuntu.subnet_id
    ami               = ec2k8s_node_template.ubuntu.ami
    instance_type     = ec2k8s_node_template.ubuntu.instance_type
  }
}

output "provisioner_policy" {
  description = "Attach this policy to the identity of ec2k8s_cloud_credential.aws."
  value       = data.ec2k8s_iam_policy.provisioner.json
}
