# Import by name. The settings live in the configuration: the next apply records them.
terraform import ec2k8s_cluster.demo demo
