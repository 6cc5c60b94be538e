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

  # Optional: a fixed address in front of the servers, such as a load balancer's DNS name from
  # the AWS provider; nodes join through it and it is in the servers' certificates.
  # registration_address = aws_lb.k8s.dns_name

  etcd_snapshot = {
    schedule_cron = "0 */6 * * *"
    retention     = 10
  }

  members = [
    { name = "alice", role = "cluster-owner" },
    { name = "bob", role = "read-only" },
  ]
}

# The server CA bundle, for clients of the API.
output "cluster_ca_certificate" {
  value = ec2k8s_cluster.demo.cluster_ca_certificate
}
