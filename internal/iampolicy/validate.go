package iampolicy

import (
	"fmt"
	"regexp"
	"strings"
)

// Partitions lists the AWS partitions a policy can be built for.
var Partitions = []string{"aws", "aws-cn", "aws-us-gov"}

var (
	accountIDRe = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	roleNameRe  = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`)
	roleARNRe   = regexp.MustCompile(`^arn:([a-z-]+):iam::([0-9]{12}):role/((?:[A-Za-z0-9+=,.@_-]+/)*)([A-Za-z0-9+=,.@_-]{1,64})$`)
	keyIDRe     = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
	keyARNRe    = regexp.MustCompile(`^arn:([a-z-]+):kms:([a-z0-9-]+):([0-9]{12}):key/(.+)$`)
)

// ValidateAccountID checks a 12-digit AWS account ID, or "*" for any account.
func ValidateAccountID(s string) error {
	if s == "*" || accountIDRe.MatchString(s) {
		return nil
	}
	return fmt.Errorf("%q is not an AWS account ID: give the 12 digits (leading zeros included, no dashes), or \"*\" for any account", s)
}

// ValidateRegion checks an AWS region name such as "us-west-2", or "*" for any region.
func ValidateRegion(s string) error {
	if s == "*" || regionRe.MatchString(s) {
		return nil
	}
	return fmt.Errorf("%q is not an AWS region name: use a name like \"us-west-2\" or \"cn-north-1\", or \"*\" for any region", s)
}

// ValidatePartition checks that s is one of Partitions.
func ValidatePartition(s string) error {
	for _, p := range Partitions {
		if s == p {
			return nil
		}
	}
	return fmt.Errorf("%q is not a supported AWS partition: use one of %s", s, strings.Join(Partitions, ", "))
}

// PartitionForRegion returns the partition a region belongs to; "aws" for "*".
func PartitionForRegion(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	default:
		return "aws"
	}
}

// ValidateRoleName checks an IAM role name, or a role ARN.
func ValidateRoleName(s string) error {
	if strings.HasPrefix(s, "arn:") {
		m := roleARNRe.FindStringSubmatch(s)
		if m == nil {
			return fmt.Errorf("%q is not an IAM role ARN: expected arn:<partition>:iam::<12-digit account>:role/<optional path/><name>", s)
		}
		return ValidatePartition(m[1])
	}
	if strings.Contains(s, "*") {
		return fmt.Errorf("%q contains a wildcard: iam:PassRole on a pattern lets the key holder give nodes any matching role; name each role", s)
	}
	if !roleNameRe.MatchString(s) {
		return fmt.Errorf("%q is not an IAM role name: use 1 to 64 letters, digits and +=,.@_- (give a path as a full role ARN)", s)
	}
	return nil
}

// ValidateKMSKeyID checks a KMS key ID (a UUID or a multi-Region "mrk-" ID), or a key ARN.
func ValidateKMSKeyID(s string) error {
	if strings.HasPrefix(s, "alias/") || strings.Contains(s, ":alias/") {
		return fmt.Errorf("%q is a KMS alias: IAM authorises key use by key, not alias; give the key ID or key ARN", s)
	}
	if strings.HasPrefix(s, "arn:") {
		m := keyARNRe.FindStringSubmatch(s)
		if m == nil || !keyIDRe.MatchString(m[4]) || ValidateRegion(m[2]) != nil || m[2] == "*" {
			return fmt.Errorf("%q is not a KMS key ARN: expected arn:<partition>:kms:<region>:<12-digit account>:key/<key ID>", s)
		}
		return ValidatePartition(m[1])
	}
	if !keyIDRe.MatchString(s) {
		return fmt.Errorf("%q is not a KMS key ID: expected a lowercase UUID like 1234abcd-12ab-34cd-56ef-1234567890ab, an mrk- multi-Region key ID, or a key ARN", s)
	}
	return nil
}
