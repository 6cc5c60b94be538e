# A cluster in the recommended topology: one node template, a pool per role (etcd, control
# plane, worker), and an ec2k8s_cluster_sync that waits until it is Active and hands out access.
# The caller configures the ec2k8s provider and makes the cloud credential.

resource "ec2k8s_node_template" "this" {
  name             = var.cluster_name
  cloud_credential = var.cloud_credential

  instance_type        = var.instance_type
  ami                  = var.ami
  zone                 = var.zone
  vpc_id               = var.vpc_id
  subnet_id            = var.subnet_id
  security_groups      = var.security_groups
  root_size            = var.root_size
  iam_instance_profile = var.iam_instance_profile
  ssh_public_key       = var.ssh_public_key
  private_address_only = var.private_address_only
  tags                 = var.tags
}

resource "ec2k8s_cluster" "this" {
  name                  = var.cluster_name
  cloud_credential      = var.cloud_credential
  distribution          = var.distribution
  kubernetes_version    = var.kubernetes_version
  network_plugin        = var.network_plugin
  enable_network_policy = var.enable_network_policy
  registration_address  = var.registration_address
  api_server_url        = var.api_server_url
  members               = length(var.members) > 0 ? var.members : null
}

resource "ec2k8s_node_pool" "etcd" {
  cluster       = ec2k8s_cluster.this
  node_template = ec2k8s_node_template.this
  name          = "etcd"
  quantity      = var.etcd_count
  etcd          = true
}

resource "ec2k8s_node_pool" "control_plane" {
  cluster       = ec2k8s_cluster.this
  node_template = ec2k8s_node_template.this
  name          = "control-plane"
  quantity      = var.control_plane_count
  control_plane = true
}

resource "ec2k8s_node_pool" "worker" {
  cluster       = ec2k8s_cluster.this
  node_template = ec2k8s_node_template.this
  name          = "worker"
  quantity      = var.worker_count
  worker        = true
}

resource "ec2k8s_cluster_sync" "this" {
  count = var.wait_for_active ? 1 : 0

  cluster    = ec2k8s_cluster.this
  node_pools = local.pools

  timeouts {
    create = var.wait_timeout
    update = var.wait_timeout
  }
}

# The provisioning policy for the credential's identity: it makes no AWS call.
data "ec2k8s_iam_policy" "provisioner" {
  region          = var.cloud_credential.region
  account_id      = var.account_id != null ? var.account_id : var.cloud_credential.account_id
  pass_role_names = var.pass_role_names

  lifecycle {
    precondition {
      condition     = var.account_id != null || var.cloud_credential.account_id != null
      error_message = "The IAM policy needs an account: pass the ec2k8s_cloud_credential resource whole (it has account_id), or set account_id."
    }
  }
}

locals {
  pools = [ec2k8s_node_pool.etcd, ec2k8s_node_pool.control_plane, ec2k8s_node_pool.worker]
}
