output "cluster_id" {
  description = "The cluster's ID (its name)."
  value       = ec2k8s_cluster.this.id
}

output "nodes" {
  description = "Every node: its pool and roles, node name, EC2 instance, private and public address, and instance state."
  value = flatten([for p in local.pools : [for n in p.nodes : {
    pool        = p.name
    roles       = n.roles
    name        = n.hostname
    instance_id = n.instance_id
    private_ip  = n.private_ip
    public_ip   = n.public_ip
    state       = n.state
  }]])
}

output "cluster_state" {
  description = "`active` once the sync saw the cluster Active; with wait_for_active = false, a sentence saying Kubernetes was not checked."
  value       = var.wait_for_active ? one(ec2k8s_cluster_sync.this[*].state) : "not checked: wait_for_active = false, so no ec2k8s_cluster_sync waited for Kubernetes"
}

output "api_server_url" {
  description = "The Kubernetes API's URL, from the sync; null with wait_for_active = false."
  value       = one(ec2k8s_cluster_sync.this[*].api_server_url)
}

output "kubeconfig" {
  description = "An admin kubeconfig (system:masters); null with wait_for_active = false."
  value       = one(ec2k8s_cluster_sync.this[*].kubeconfig)
  sensitive   = true
}

output "member_kubeconfigs" {
  description = "A kubeconfig per member, by member name; null with wait_for_active = false."
  value       = one(ec2k8s_cluster_sync.this[*].member_kubeconfigs)
  sensitive   = true
}

output "client_certificate" {
  description = "The admin client certificate, PEM, for the kubernetes and helm providers; null with wait_for_active = false."
  value       = one(ec2k8s_cluster_sync.this[*].client_certificate)
}

output "client_key" {
  description = "The admin client certificate's key, PEM; null with wait_for_active = false."
  value       = one(ec2k8s_cluster_sync.this[*].client_key)
  sensitive   = true
}

output "cluster_ca_certificate" {
  description = "The cluster's server CA bundle, PEM: what clients trust the API by."
  value       = ec2k8s_cluster.this.cluster_ca_certificate
}

output "iam_policy_json" {
  description = "The provisioning policy: attach it to the identity of the cloud credential."
  value       = data.ec2k8s_iam_policy.provisioner.json
}
