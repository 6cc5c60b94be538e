provider "ec2k8s" {
  # Optional. Without it, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> or AWS's own endpoints.
  endpoints {
    ec2 = "https://ec2.us-west-2.amazonaws.com"
    sts = "https://sts.us-west-2.amazonaws.com"
    iam = "https://iam.amazonaws.com"
  }

  # Optional. Retries for throttled or failed AWS calls; default 25.
  max_retries = 10
}
