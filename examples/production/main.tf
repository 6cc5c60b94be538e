# Production: the recommended topology (etcd x3, control plane x2, workers x2 or more) through the
# module in ../modules/ec2k8s-cluster, behind a load balancer whose address the nodes join
# through and clients reach the API by.
#
# The load balancer is not made here: make it with the AWS provider, as the provider's
# documentation shows, or any other way, and pass its DNS name as registration_address.
#
#   terraform init
#   terraform apply -var registration_address=k8s-nlb-0123456789.elb.us-west-2.amazonaws.com
#   terraform output -raw kubeconfig > kubeconfig
terraform {
  required_version = ">= 1.5"
  required_providers {
    ec2k8s = {
      source = "ec2k8s/ec2k8s"
    }
  }
}

variable "region" {
  description = "Region of the cluster."
  type        = string
  default     = "us-west-2"
}

variable "cluster_name" {
  description = "Cluster name; it starts every node name."
  type        = string
  default     = "prod"
}

variable "registration_address" {
  description = "DNS name (or IP address) of the registration load balancer, without scheme or port: port 9345 to every server (etcd and control plane), 6443 to the control plane nodes (docs/guides/production-topology.md)."
  type        = string
}

variable "subnet_id" {
  description = "Subnet of the nodes; null for a subnet of the default VPC in zone a."
  type        = string
  default     = null
}

variable "worker_count" {
  description = "Worker nodes."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_count >= 2
    error_message = "Production runs at least 2 workers, so workloads survive losing one."
  }
}

variable "members" {
  description = "Users who may use the cluster, with their role (cluster-owner, cluster-member, read-only)."
  type = list(object({
    name = string
    role = string
  }))
  default = []
}

variable "wait_for_active" {
  description = "Wait until the cluster is Active and output its kubeconfig. Tests against a local EC2 emulator set it to false."
  type        = bool
  default     = true
}

provider "ec2k8s" {}

# The AWS SDK's default chain; give profile or assume_role to use another identity.
resource "ec2k8s_cloud_credential" "aws" {
  name   = "${var.cluster_name}-aws"
  region = var.region
}

module "cluster" {
  source = "../modules/ec2k8s-cluster"

  cloud_credential = ec2k8s_cloud_credential.aws
  cluster_name     = var.cluster_name

  # Pinned: a new version is a deliberate change, which the pools roll out one node at a time.
  distribution          = "rke2"
  kubernetes_version    = "v1.33.5+rke2r1"
  enable_network_policy = true
  registration_address  = var.registration_address
  members               = var.members

  etcd_count          = 3
  control_plane_count = 2
  worker_count        = var.worker_count

  instance_type = "m6i.xlarge"
  root_size     = 100
  subnet_id     = var.subnet_id
  tags          = { environment = "production" }

  wait_for_active = var.wait_for_active
}

output "nodes" {
  description = "Every node: pool, roles, node name, instance, addresses, state."
  value       = module.cluster.nodes
}

output "cluster_state" {
  description = "`active` once the cluster was seen Active."
  value       = module.cluster.cluster_state
}

output "api_server_url" {
  description = "The Kubernetes API: https://<registration_address>:6443."
  value       = module.cluster.api_server_url
}

output "kubeconfig" {
  description = "An admin kubeconfig: `terraform output -raw kubeconfig > kubeconfig`."
  value       = module.cluster.kubeconfig
  sensitive   = true
}

output "provisioner_policy" {
  description = "Attach this policy to the identity of ec2k8s_cloud_credential.aws."
  value       = module.cluster.iam_policy_json
}
