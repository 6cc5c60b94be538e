resource "ec2k8s_cloud_credential" "aws" {
  name   = "aws"
  region = "us-west-2"
}

# Defaults: the credential's region, zone "a", the default VPC and a subnet of it in the zone, the
# newest Ubuntu 24.04 LTS for the instance type, t3.medium, a 32 GiB encrypted gp3 root volume,
# IMDSv2 required, the managed "rancher-nodes" security group.
resource "ec2k8s_node_template" "ubuntu" {
  name             = "ubuntu"
  cloud_credential = ec2k8s_cloud_credential.aws
}

# Everything spelled out.
resource "ec2k8s_node_template" "graviton" {
  name                 = "graviton"
  cloud_credential     = ec2k8s_cloud_credential.aws
  zone                 = "b"
  instance_type        = "m7g.large"
  root_size            = 64
  security_groups      = ["rancher-nodes"]
  open_ports           = ["80", "443"]
  ssh_cidr_blocks      = ["203.0.113.0/24"]
  iam_instance_profile = "k8s-node"
  private_address_only = true
  tags                 = { team = "platform" }
  node_labels          = { "example.com/tier" = "core" }
  node_taints          = [{ key = "dedicated", value = "core", effect = "NoSchedule" }]

  engine_registry_mirrors    = ["https://mirror.example.com"]
  engine_insecure_registries = ["registry.internal:5000"]
  engine_env                 = { HTTPS_PROXY = "http://proxy.internal:3128" }
}
