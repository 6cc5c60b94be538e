# Import by <region>/<cluster>/<pool>: the nodes are found again from their EC2 tags. A generated
# private key cannot be read back; the next apply makes a new key pair for new nodes.
terraform import ec2k8s_node_pool.workers us-west-2/demo/workers
