package awsclient

import (
	"fmt"
	"regexp"
)

var (
	accessKeyRe   = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
	roleARNRe     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$`)
	externalIDRe  = regexp.MustCompile(`^[A-Za-z0-9+=,.@:/_-]{2,}$`)
	sessionNameRe = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{2,64}$`)
	profileRe     = regexp.MustCompile(`^[^\s\[\]]{1,128}$`)
)

// ValidateAccessKey checks the shape of an access key ID. It never echoes the value.
func ValidateAccessKey(s string) error {
	if !accessKeyRe.MatchString(s) {
		return fmt.Errorf("not an AWS access key ID: expected 16 to 128 uppercase letters and digits, such as AKIA followed by 16 characters (is it the secret key?)")
	}
	return nil
}

// ValidateSecretKey checks that a secret access key is plausible. It never echoes the value.
func ValidateSecretKey(s string) error {
	if len(s) < 16 {
		return fmt.Errorf("too short for an AWS secret access key (%d characters; AWS issues 40)", len(s))
	}
	return nil
}

// ValidateRoleARN checks an IAM role ARN.
func ValidateRoleARN(s string) error {
	if !roleARNRe.MatchString(s) {
		return fmt.Errorf("%q is not an IAM role ARN: expected arn:aws:iam::<12-digit account>:role/<name>", s)
	}
	return nil
}

// ValidateExternalID checks an STS external ID. It never echoes the value.
func ValidateExternalID(s string) error {
	if len(s) > 1224 || !externalIDRe.MatchString(s) {
		return fmt.Errorf("not a valid external ID: use 2 to 1224 letters, digits and +=,.@:/_-")
	}
	return nil
}

// ValidateSessionName checks an STS role session name.
func ValidateSessionName(s string) error {
	if !sessionNameRe.MatchString(s) {
		return fmt.Errorf("%q is not a role session name: use 2 to 64 letters, digits and +=,.@_-", s)
	}
	return nil
}

// ValidateProfile checks a shared config profile name.
func ValidateProfile(s string) error {
	if !profileRe.MatchString(s) {
		return fmt.Errorf("%q is not a profile name: no spaces or brackets", s)
	}
	return nil
}
