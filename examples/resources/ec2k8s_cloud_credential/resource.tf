variable "access_key" {
  type = string
}

variable "secret_key" {
  type      = string
  sensitive = true
}

# Static keys. Rotating them is an in-place update that nothing downstream is replaced for.
resource "ec2k8s_cloud_credential" "aws" {
  name       = "aws"
  region     = "us-west-2"
  access_key = var.access_key
  secret_key = var.secret_key
}

# A named profile of the shared config files.
resource "ec2k8s_cloud_credential" "ops" {
  name    = "ops"
  region  = "eu-central-1"
  profile = "ops"
}

# A role assumed from the SDK's default chain (environment, SSO, instance role).
resource "ec2k8s_cloud_credential" "provisioner" {
  name   = "provisioner"
  region = "us-west-2"
  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/ec2k8s-provisioner"
    session_name = "terraform"
  }
}
