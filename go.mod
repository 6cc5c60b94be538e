module github.com/ec2k8s/terraform-provider-ec2k8s

go 1.26
