# The seed's topology; see ec2k8s_node_pool for the pools.
resource "ec2k8s_cluster_sync" "demo" {
  cluster    = ec2k8s_cluster.demo
  node_pools = [ec2k8s_node_pool.etcd, ec2k8s_node_pool.control_plane, ec2k8s_node_pool.workers]

  timeouts {
    create = "30m"
  }
}

output "kubeconfig" {
  value     = ec2k8s_cluster_sync.demo.kubeconfig
  sensitive = true
}

# The kubernetes provider, configured from the sync once the cluster is Active.
provider "kubernetes" {
  host                   = ec2k8s_cluster_sync.demo.api_server_url
  cluster_ca_certificate = ec2k8s_cluster_sync.demo.cluster_ca_certificate
  client_certificate     = ec2k8s_cluster_sync.demo.client_certificate
  client_key             = ec2k8s_cluster_sync.demo.client_key
}
