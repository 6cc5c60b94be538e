terraform {
  # optional() object attributes in variable types.
  required_version = ">= 1.3"
  required_providers {
    ec2k8s = {
      source = "ec2k8s/ec2k8s"
    }
  }
}
