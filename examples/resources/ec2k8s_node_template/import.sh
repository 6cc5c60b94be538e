# Import by name. The next apply fills in the settings from the configuration and checks them
# against EC2.
terraform import ec2k8s_node_template.ubuntu ubuntu
