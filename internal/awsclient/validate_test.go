package awsclient

import (
	"strings"
	"testing"
)

func TestCredentialValidators(t *testing.T) {
	for _, c := range []struct {
		name  string
		fn    func(string) error
		value string
		want  string // "" for a good value
	}{
		{"access key", ValidateAccessKey, "AKIAIOSFODNN7EXAMPLE", ""},
		{"access key", ValidateAccessKey, "akiaiosfodnn7example", "not an AWS access key ID"},
		{"access key", ValidateAccessKey, "AKIA", "16 to 128"},
		{"access key", ValidateAccessKey, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "is it the secret key?"},
		{"secret key", ValidateSecretKey, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""},
		{"secret key", ValidateSecretKey, "x9z8y", "too short"},
		{"role ARN", ValidateRoleARN, "arn:aws:iam::123456789012:role/ops", ""},
		{"role ARN", ValidateRoleARN, "arn:aws:iam::123456789012:user/ops", "not an IAM role ARN"},
		{"role ARN", ValidateRoleARN, "ops", "not an IAM role ARN"},
		{"external ID", ValidateExternalID, "ext-123", ""},
		{"external ID", ValidateExternalID, "x", "2 to 1224"},
		{"external ID", ValidateExternalID, strings.Repeat("e", 1225), "not a valid external ID"},
		{"session name", ValidateSessionName, "ec2k8s", ""},
		{"session name", ValidateSessionName, "a b", "not a role session name"},
		{"profile", ValidateProfile, "ops", ""},
		{"profile", ValidateProfile, "my profile", "not a profile name"},
		{"profile", ValidateProfile, "[ops]", "no spaces or brackets"},
	} {
		err := c.fn(c.value)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %q: unexpected error %v", c.name, c.value, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s %q: error = %v; want it to contain %q", c.name, c.value, err, c.want)
		}
		if err != nil && (c.name == "secret key" || c.name == "access key" || c.name == "external ID") && len(c.value) > 4 && strings.Contains(err.Error(), c.value) {
			t.Errorf("%s: the message echoes the value", c.name)
		}
	}
}

func TestMethodNeverShowsSecrets(t *testing.T) {
	c := Credentials{AccessKey: "AKIAIOSFODNN7EXAMPLE", SecretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	if got := c.Method(); got != "access key AKIA…MPLE" {
		t.Errorf("Method() = %q", got)
	}
	for _, c := range []Credentials{{Profile: "ops"}, {AssumeRole: &AssumeRole{RoleARN: "arn:aws:iam::1:role/x", ExternalID: "sekret"}}, {}} {
		if m := c.Method(); strings.Contains(m, "sekret") || m == "" {
			t.Errorf("Method() = %q", m)
		}
	}
}
