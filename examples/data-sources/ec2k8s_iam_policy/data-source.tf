# The provisioning policy for one account and region.
data "ec2k8s_iam_policy" "provisioner" {
  region     = "us-west-2"
  account_id = "123456789012"

  # Optional: nodes get an instance profile with this role (adds iam:PassRole on it).
  pass_role_names = ["k8s-node"]

  # Optional: root volumes encrypted with this customer managed key (fills ebs_encryption_json).
  kms_key_ids = ["1234abcd-12ab-34cd-56ef-1234567890ab"]
}

output "provisioner_policy" {
  value = data.ec2k8s_iam_policy.provisioner.json
}

output "ebs_encryption_policy" {
  value = data.ec2k8s_iam_policy.provisioner.ebs_encryption_json
}
