resource "ec2k8s_cloud_credential" "aws" {
  name   = "aws"
  region = "us-west-2"
}

resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}

resource "ec2k8s_cluster" "demo" {
  name             = "demo"
  cloud_credential = ec2k8s_cloud_credential.aws
}

# The seed's recommended topology: each role in its own pool.
resource "ec2k8s_node_pool" "etcd" {
  cluster         = ec2k8s_cluster.demo
  node_template   = ec2k8s_node_template.ubuntu
  name            = "etcd"
  hostname_prefix = "demo-etcd-"
  quantity        = 3
  etcd            = true
}

resource "ec2k8s_node_pool" "control_plane" {
  cluster       = ec2k8s_cluster.demo
  node_template = ec2k8s_node_template.ubuntu
  name          = "cp"
  quantity      = 2
  control_plane = true
}

resource "ec2k8s_node_pool" "workers" {
  cluster       = ec2k8s_cluster.demo
  node_template = ec2k8s_node_template.ubuntu
  name          = "workers"
  quantity      = 2
  worker        = true

  timeouts {
    create = "20m"
    update = "90m"
  }
}

output "worker_addresses" {
  value = ec2k8s_node_pool.workers.nodes[*].private_ip
}
