# Quickstart: a cloud credential checked with STS, a node template checked against EC2, a cluster
# with one all-roles node pool, and the IAM policy the provisioning client needs. `make demo` applies this against a local EC2 emulator;
# against AWS it works unchanged, with the credentials of your environment.
terraform {
  required_providers {
    ec2k8s = {
      source = "ec2k8s/ec2k8s"
    }
  }
}

variable "region" {
  description = "Region the cluster's nodes will run in."
  type        = string
  default     = "us-west-2"
}

variable "node_role_names" {
  description = "IAM roles the nodes' instance profiles carry (adds iam:PassRole); empty for none."
  type        = list(string)
  default     = ["k8s-node"]
}

provider "ec2k8s" {}

data "ec2k8s_caller_identity" "current" {}

# No keys given: the AWS SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, ...).
resource "ec2k8s_cloud_credential" "aws" {
  name   = "aws"
  region = var.region
}

resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}

data "ec2k8s_iam_policy" "provisioner" {
  region          = var.region
  account_id      = data.ec2k8s_caller_identity.current.account_id
  pass_role_names = var.node_role_names
}

resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
}

# One node with every role: the smallest cluster (the plan warns it is not for production).
resource "ec2k8s_node_pool" "all" {
  cluster       = ec2k8s_cluster.demo
  node_template = ec2k8s_node_template.ubuntu
  name          = "all"
  quantity      = 1
  etcd          = true
  control_plane = true
  worker        = true
}

output "nodes" {
  description = "The pool's EC2 instances."
  value = [for n in ec2k8s_node_pool.all.nodes : {
    hostname    = n.hostname
    instance_id = n.instance_id
    private_ip  = n.private_ip
    state       = n.state
  }]
}

output "account" {
  value = ec2k8s_cloud_credential.aws.arn
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
  description = "Attach this policy to the identity of your ec2k8s_cloud_credential."
  value       = data.ec2k8s_iam_policy.provisioner.json
}

output "provisioner_policy_size" {
  description = "Characters AWS counts against its 6,144 limit."
  value       = data.ec2k8s_iam_policy.provisioner.size
}
