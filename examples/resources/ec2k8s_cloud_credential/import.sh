# Import by name. Keys cannot be read back: the next apply sets them from the configuration and
# checks them with STS.
terraform import ec2k8s_cloud_credential.aws aws
