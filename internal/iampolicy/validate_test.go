package iampolicy

import (
	"strings"
	"testing"
)

func TestValidators(t *testing.T) {
	type check struct {
		value string
		// want is empty for a good value, else a fragment of the error.
		want string
	}
	for _, tc := range []struct {
		name   string
		fn     func(string) error
		checks []check
	}{
		{"account", ValidateAccountID, []check{
			{"123456789012", ""}, {"000000000001", ""}, {"*", ""},
			{"12345678901", "not an AWS account ID"}, {"1234567890123", "12 digits"},
			{"1234-5678-9012", "no dashes"}, {"abcdefghijkl", "not an AWS account ID"}, {"", "not an AWS account ID"}, {"12345678901*", "not an AWS account ID"},
		}},
		{"region", ValidateRegion, []check{
			{"us-west-2", ""}, {"cn-north-1", ""}, {"us-gov-west-1", ""}, {"ap-southeast-5", ""}, {"*", ""},
			{"us-west", "not an AWS region"}, {"US-WEST-2", "not an AWS region"}, {"us-west-2a", "not an AWS region"}, {"", "not an AWS region"}, {"us-*", "not an AWS region"},
		}},
		{"partition", ValidatePartition, []check{
			{"aws", ""}, {"aws-cn", ""}, {"aws-us-gov", ""},
			{"AWS", "not a supported AWS partition"}, {"aws-iso-x", "aws, aws-cn, aws-us-gov"}, {"", "not a supported"},
		}},
		{"role", ValidateRoleName, []check{
			{"k8s-node", ""}, {"Role_with.all+chars=,@-", ""}, {"arn:aws:iam::123456789012:role/k8s-node", ""}, {"arn:aws-cn:iam::123456789012:role/a/b/c", ""},
			{"", "not an IAM role name"}, {"has space", "not an IAM role name"}, {strings.Repeat("r", 65), "1 to 64"},
			{"k8s-*", "wildcard"}, {"path/name", "give a path as a full role ARN"},
			{"arn:aws:iam::123:role/x", "not an IAM role ARN"}, {"arn:aws:iam::123456789012:user/x", "not an IAM role ARN"}, {"arn:gcp:iam::123456789012:role/x", "not a supported AWS partition"},
		}},
		{"kms", ValidateKMSKeyID, []check{
			{"1234abcd-12ab-34cd-56ef-1234567890ab", ""}, {"mrk-1234abcd12ab34cd56ef1234567890ab", ""},
			{"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", ""},
			{"1234ABCD-12AB-34CD-56EF-1234567890AB", "lowercase UUID"}, {"1234abcd", "not a KMS key ID"}, {"", "not a KMS key ID"},
			{"alias/ebs", "alias"}, {"arn:aws:kms:us-west-2:111122223333:alias/ebs", "alias"},
			{"arn:aws:kms:us-west-2:111122223333:key/nope", "not a KMS key ARN"}, {"arn:aws:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "not a KMS key ARN"},
			{"arn:aws:kms:us-west-2:1111:key/1234abcd-12ab-34cd-56ef-1234567890ab", "not a KMS key ARN"},
		}},
	} {
		for _, c := range tc.checks {
			t.Run(tc.name+"/"+c.value, func(t *testing.T) {
				err := tc.fn(c.value)
				switch {
				case c.want == "" && err != nil:
					t.Errorf("%q: unexpected error %v", c.value, err)
				case c.want != "" && err == nil:
					t.Errorf("%q: accepted; want an error containing %q", c.value, c.want)
				case c.want != "" && !strings.Contains(err.Error(), c.want):
					t.Errorf("%q: error %q; want it to contain %q", c.value, err, c.want)
				}
			})
		}
	}
}

func TestPartitionForRegion(t *testing.T) {
	for region, want := range map[string]string{"us-west-2": "aws", "cn-northwest-1": "aws-cn", "us-gov-east-1": "aws-us-gov", "*": "aws"} {
		if got := PartitionForRegion(region); got != want {
			t.Errorf("PartitionForRegion(%q) = %q; want %q", region, got, want)
		}
	}
}
