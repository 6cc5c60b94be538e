# Import by <region>/<cluster>/<pool>: the nodes are found again from their EC2 tags. The first
# apply after an import records the cluster and node template and changes nothing on AWS.
terraform import ec2k8s_node_pool.workers us-west-2/demo/workers
