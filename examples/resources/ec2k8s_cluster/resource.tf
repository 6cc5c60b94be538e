resource "ec2k8s_cloud_credential" "aws" {
  name   = "aws"
  region = "us-west-2"
}

resource "ec2k8s_cluster" "demo" {
  name                  = "demo"
  cloud_credential      = ec2k8s_cloud_credential.aws
  distribution          = "rke2"
  kubernetes_version    = "v1.33.5+rke2r1"
  network_plugin        = "canal"
  enable_network_policy = true
  cloud_provider        = "none"
  members = [
    { name = "alice", role = "cluster-owner" },
    { name = "bob", role = "read-only" },
  ]
}
