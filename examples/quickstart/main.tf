# Quickstart: the IAM policy the provisioning client needs, for the account you are signed in to.
# `make demo` applies this against a local EC2 emulator; against AWS it works unchanged.
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

data "ec2k8s_iam_policy" "provisioner" {
  region          = var.region
  account_id      = data.ec2k8s_caller_identity.current.account_id
  pass_role_names = var.node_role_names
}

output "account" {
  value = data.ec2k8s_caller_identity.current.arn
}

output "provisioner_policy" {
  description = "Attach this policy to the identity of your ec2k8s_cloud_credential."
  value       = data.ec2k8s_iam_policy.provisioner.json
}

output "provisioner_policy_size" {
  description = "Characters AWS counts against its 6,144 limit."
  value       = data.ec2k8s_iam_policy.provisioner.size
}
