# The hashicorp/kubernetes provider, configured from the module's outputs, managing objects in
# the cluster the module made.
#
# A provider configured from values that are known only after apply cannot plan against them:
# create the cluster first, then everything else.
#
#   terraform init
#   terraform apply -target=module.cluster
#   terraform apply
#
# Or keep the Kubernetes objects in a configuration of their own, reading the kubeconfig
# output of this one.
terraform {
  required_version = ">= 1.5"
  required_providers {
    ec2k8s = {
      source = "ec2k8s/ec2k8s"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.20"
    }
  }
}

variable "region" {
  description = "Region of the cluster."
  type        = string
  default     = "us-west-2"
}

provider "ec2k8s" {}

resource "ec2k8s_cloud_credential" "aws" {
  name   = "aws"
  region = var.region
}

module "cluster" {
  source = "../modules/ec2k8s-cluster"

  cloud_credential = ec2k8s_cloud_credential.aws
  cluster_name     = "apps"

  # The sync is what hands out the client certificate the kubernetes provider uses.
  wait_for_active = true
}

provider "kubernetes" {
  host                   = module.cluster.api_server_url
  cluster_ca_certificate = module.cluster.cluster_ca_certificate
  client_certificate     = module.cluster.client_certificate
  client_key             = module.cluster.client_key
}

resource "kubernetes_namespace" "apps" {
  metadata {
    name = "apps"
    labels = {
      "app.kubernetes.io/managed-by" = "terraform"
    }
  }
}

output "namespace" {
  value = kubernetes_namespace.apps.metadata[0].name
}
