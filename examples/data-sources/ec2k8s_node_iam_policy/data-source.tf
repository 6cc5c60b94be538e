# The instance-profile policies for a cluster with cloud_provider = "aws".
data "ec2k8s_node_iam_policy" "nodes" {
  # Optional: the servers keep etcd snapshots in this bucket, under this folder
  # (RKE2/K3s etcd-s3-bucket and etcd-s3-folder). Adds the S3 statements to the
  # control-plane policy, on this bucket and folder only.
  etcd_snapshot_bucket = "example-etcd-snapshots"
  etcd_snapshot_folder = "clusters/prod"
}

# For the role of etcd and control-plane nodes (with node_json too).
output "control_plane_policy" {
  value = data.ec2k8s_node_iam_policy.nodes.control_plane_json
}

# For the role of every node.
output "node_policy" {
  value = data.ec2k8s_node_iam_policy.nodes.node_json
}
