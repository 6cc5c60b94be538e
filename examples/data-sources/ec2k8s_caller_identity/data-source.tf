data "ec2k8s_caller_identity" "current" {}

# Build the provisioning policy for the account you are signed in to.
data "ec2k8s_iam_policy" "provisioner" {
  region     = "us-west-2"
  account_id = data.ec2k8s_caller_identity.current.account_id
}
