package awsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Identity is who a credential is, according to STS.
type Identity struct {
	AccountID string
	ARN       string
	UserID    string
}

// Identity asks STS GetCallerIdentity who c is. A rejection names the credential's method (never
// a secret) and says what STS answered.
func (s Settings) Identity(ctx context.Context, c Credentials) (Identity, error) {
	cfg, err := s.Config(ctx, c)
	if err != nil {
		return Identity{}, err
	}
	out, err := s.STS(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			return Identity{}, fmt.Errorf("STS rejected %s: %s: %s", c.Method(), apiErr.ErrorCode(), apiErr.ErrorMessage())
		}
		return Identity{}, fmt.Errorf("STS GetCallerIdentity with %s failed: %w", c.Method(), err)
	}
	return Identity{AccountID: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}, nil
}
