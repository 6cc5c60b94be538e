# --- The cloud credential -----------------------------------------------------------------------

# The attributes ec2k8s_node_template and ec2k8s_cluster read of a credential (its arn and
# user_id are dropped on the way, as they are when a resource is passed to them directly).
variable "cloud_credential" {
  description = "The cloud credential, passed whole as resources pass it to each other: `cloud_credential = ec2k8s_cloud_credential.aws`. The node template and the cluster use it; its region is where the nodes run, and its account_id is what the IAM policy is for (unless account_id is given)."
  type = object({
    id            = string
    name          = optional(string)
    region        = string
    account_id    = optional(string)
    access_key    = optional(string)
    secret_key    = optional(string)
    session_token = optional(string)
    profile       = optional(string)
    assume_role = optional(object({
      role_arn     = optional(string)
      external_id  = optional(string)
      session_name = optional(string)
    }))
  })
}

variable "account_id" {
  description = "Account the IAM policy output is for. Defaults to the credential's account_id (known once the credential exists; give it here to see the policy in the first plan)."
  type        = string
  default     = null

  validation {
    condition     = var.account_id == null || can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id is a 12-digit AWS account ID."
  }
}

variable "pass_role_names" {
  description = "IAM roles the nodes' instance profile carries (see iam_instance_profile): the IAM policy output grants iam:PassRole on exactly these."
  type        = list(string)
  default     = []
}

# --- The cluster ----------------------------------------------------------------------------------

variable "cluster_name" {
  description = "Cluster name. It tags every AWS object of the cluster and starts every node name (`<cluster_name>-control-plane-1`)."
  type        = string

  validation {
    # 34, not the provider's 40: the longest node name prefix, "<name>-control-plane-", must fit
    # in the provider's 49 characters.
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,32}[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name is 1 to 34 lowercase letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "distribution" {
  description = "Kubernetes distribution: `rke2` or `k3s`. Cannot change once the cluster exists."
  type        = string
  default     = "rke2"

  validation {
    condition     = contains(["rke2", "k3s"], var.distribution)
    error_message = "distribution is \"rke2\" or \"k3s\"."
  }
}

variable "kubernetes_version" {
  description = "Release of the distribution, such as `v1.33.5+rke2r1` or `v1.33.5+k3s1`; null for the provider's default. Pin it in production: changing it upgrades the nodes one at a time."
  type        = string
  default     = null

  validation {
    condition     = var.kubernetes_version == null || can(regex("^v1\\.[0-9]+\\.[0-9]+\\+(rke2r|k3s)[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version looks like v1.33.5+rke2r1 (rke2) or v1.33.5+k3s1 (k3s)."
  }
}

variable "network_plugin" {
  description = "CNI: `canal` (rke2's default), `calico`, `cilium`, `flannel` (k3s's default) or `none`; null for the distribution's default. Cannot change once the cluster exists."
  type        = string
  default     = null
}

variable "enable_network_policy" {
  description = "Project network isolation: enforce NetworkPolicy (needs a plugin that does)."
  type        = bool
  default     = false
}

variable "registration_address" {
  description = "Fixed address (IP or DNS name, no scheme or port) in front of the servers, such as a load balancer's DNS name: nodes join through it, it is in the servers' certificates, and the API is reached at https://<address>:6443 unless api_server_url says otherwise. Null: nodes join through a live server's private address."
  type        = string
  default     = null

  validation {
    condition     = var.registration_address == null || !can(regex("[:/]", var.registration_address))
    error_message = "registration_address is an address alone, such as k8s.example.com: no https:// and no port."
  }
}

variable "api_server_url" {
  description = "URL users and the provider reach the Kubernetes API by, such as https://k8s.example.com:6443. Null: https://<registration_address>:6443, else the first control-plane node's address."
  type        = string
  default     = null

  validation {
    condition     = var.api_server_url == null || can(regex("^https://", var.api_server_url))
    error_message = "api_server_url starts with https://."
  }
}

variable "members" {
  description = "Users who may use the cluster, each with a role: `cluster-owner`, `cluster-member` or `read-only`. The sync binds their roles and outputs a kubeconfig per member."
  type = list(object({
    name = string
    role = string
  }))
  default = []

  validation {
    condition     = alltrue([for m in var.members : contains(["cluster-owner", "cluster-member", "read-only"], m.role)])
    error_message = "Each member's role is cluster-owner, cluster-member or read-only."
  }
}

# --- Node pools -----------------------------------------------------------------------------------

variable "etcd_count" {
  description = "Nodes of the etcd pool. etcd needs a majority: 3 tolerates one failure, 5 two; 1 is for trying things out."
  type        = number
  default     = 3

  validation {
    condition     = var.etcd_count >= 1 && var.etcd_count % 2 == 1
    error_message = "etcd_count is an odd number (1, 3, 5): an even count tolerates no more failures than the odd count below it."
  }
}

variable "control_plane_count" {
  description = "Nodes of the control plane pool; 2 or more keep the API up while one is replaced."
  type        = number
  default     = 2

  validation {
    condition     = var.control_plane_count >= 1 && floor(var.control_plane_count) == var.control_plane_count
    error_message = "control_plane_count is a whole number, at least 1."
  }
}

variable "worker_count" {
  description = "Nodes of the worker pool, where workloads run (etcd and control plane nodes are tainted against them)."
  type        = number
  default     = 2

  validation {
    condition     = var.worker_count >= 1 && var.worker_count <= 1000 && floor(var.worker_count) == var.worker_count
    error_message = "worker_count is a whole number from 1 to 1000."
  }
}

# --- The node template (null: the provider's default) ---------------------------------------------

variable "instance_type" {
  description = "EC2 instance type of every node. Null: t3.medium (2 vCPU, 4 GiB), the least an RKE2 server needs."
  type        = string
  default     = null
}

variable "ami" {
  description = "AMI of the nodes. Null: the newest Ubuntu 24.04 LTS by Canonical for the region and the instance type's architecture, resolved once and kept."
  type        = string
  default     = null
}

variable "zone" {
  description = "Availability zone: a letter (`a`) or a full name (`us-west-2a`). Null: `a`."
  type        = string
  default     = null
}

variable "vpc_id" {
  description = "VPC of the nodes. Null: the region's default VPC (or the subnet's VPC)."
  type        = string
  default     = null
}

variable "subnet_id" {
  description = "Subnet of the nodes, in the VPC and the zone. Null: a subnet of the VPC in the zone."
  type        = string
  default     = null
}

variable "security_groups" {
  description = "Security groups of the nodes, by name or ID. Null: the managed `rancher-nodes` group, created by the first node pool with Rancher's node port rules."
  type        = set(string)
  default     = null
}

variable "root_size" {
  description = "Root volume size in GiB. Null: 32."
  type        = number
  default     = null
}

variable "iam_instance_profile" {
  description = "IAM instance profile of the nodes, by name or ARN; put its role in pass_role_names. Null: none."
  type        = string
  default     = null
}

variable "ssh_public_key" {
  description = "OpenSSH public key for the nodes. Null: no key pair; nodes boot from user data and need no SSH."
  type        = string
  default     = null
}

variable "private_address_only" {
  description = "Give nodes no public IP address (the API is then reached on private addresses, or through registration_address / api_server_url)."
  type        = bool
  default     = null
}

variable "tags" {
  description = "Extra tags for the instances, their volumes and network interfaces."
  type        = map(string)
  default     = null
}

# --- Readiness ------------------------------------------------------------------------------------

variable "wait_for_active" {
  description = "Create an ec2k8s_cluster_sync: wait until the cluster is Active (API ready, every node registered and Ready) and output a kubeconfig and client credentials. False where no node can boot, such as a local EC2 emulator; the access outputs are then null."
  type        = bool
  default     = true
}

variable "wait_timeout" {
  description = "How long the sync waits for the cluster to be Active, as a duration such as `30m`."
  type        = string
  default     = "30m"

  validation {
    condition     = can(regex("^([0-9]+h)?([0-9]+m)?([0-9]+s)?$", var.wait_timeout)) && var.wait_timeout != ""
    error_message = "wait_timeout is a duration such as 45m or 1h30m."
  }
}
