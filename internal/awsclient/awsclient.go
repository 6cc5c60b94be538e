package awsclient

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultMaxRetries is how often a throttled or failed AWS call is retried when the provider
// configuration does not say.
const DefaultMaxRetries = 25

// Endpoints are custom service endpoints. An empty one leaves the SDK's choice, which honours
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>.
type Endpoints struct {
	EC2 string
	STS string
	IAM string
}

// Settings are the provider-wide AWS settings.
type Settings struct {
	Endpoints  Endpoints
	MaxRetries int
	// AppID is sent in the User-Agent, to tell the provider's calls apart in CloudTrail.
	AppID string
	// MaxBackoff caps the wait between retries; the SDK's 20s when zero.
	MaxBackoff time.Duration
}

// Credentials says how to authenticate; with none of AccessKey, Profile and AssumeRole set, the
// SDK's default chain (environment, shared config and SSO, instance role) is used.
type Credentials struct {
	Region       string
	AccessKey    string
	SecretKey    string
	SessionToken string
	Profile      string
	AssumeRole   *AssumeRole
}

// AssumeRole is a role to assume, from the SDK's default chain, through the STS endpoint.
type AssumeRole struct {
	RoleARN     string
	ExternalID  string
	SessionName string
}

// Method names the way c authenticates, for messages; it never includes a secret.
func (c Credentials) Method() string {
	switch {
	case c.AccessKey != "":
		return "access key " + MaskAccessKey(c.AccessKey)
	case c.Profile != "":
		return fmt.Sprintf("profile %q", c.Profile)
	case c.AssumeRole != nil:
		return "assumed role " + c.AssumeRole.RoleARN
	default:
		return "the default credential chain"
	}
}

// MaskAccessKey keeps the first four and last four characters of an access key ID.
func MaskAccessKey(k string) string {
	if len(k) <= 8 {
		return "****"
	}
	return k[:4] + "…" + k[len(k)-4:]
}

// ValidateEndpoint checks that s is an absolute http or https URL.
func ValidateEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an endpoint URL: give an absolute http:// or https:// URL such as https://ec2.us-west-2.amazonaws.com", s)
	}
	return nil
}

// Config loads an aws.Config for c. It reads environment and shared files, never the network.
func (s Settings) Config(ctx context.Context, c Credentials) (aws.Config, error) {
	retries, maxBackoff := s.MaxRetries, s.MaxBackoff
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = retries + 1
				// GOTCHA: the standard retryer's token bucket refuses retries after a burst of
				// failures ("retry quota exceeded"); a long pool operation under throttling must
				// keep retrying within max_retries instead.
				o.RateLimiter = ratelimit.None
				if maxBackoff > 0 {
					o.MaxBackoff = maxBackoff
				}
			})
		}),
	}
	if s.AppID != "" {
		opts = append(opts, config.WithAppID(s.AppID))
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.AccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKey, c.SecretKey, c.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		// STS is global; a region is still needed to sign. Resources that need a real region
		// take it from their credential.
		cfg.Region = "us-east-1"
	}
	if r := c.AssumeRole; r != nil {
		provider := stscreds.NewAssumeRoleProvider(s.STS(cfg), r.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			if r.ExternalID != "" {
				o.ExternalID = aws.String(r.ExternalID)
			}
			if r.SessionName != "" {
				o.RoleSessionName = r.SessionName
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(provider)
	}
	return cfg, nil
}

// EC2 returns an EC2 client for cfg on the configured endpoint; counter, when not nil, counts
// its calls.
func (s Settings) EC2(cfg aws.Config, counter *CallCounter) *ec2.Client {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.BaseEndpoint = endpoint(s.Endpoints.EC2, o.BaseEndpoint)
		if counter != nil {
			o.APIOptions = append(o.APIOptions, counter.apiOption)
		}
	})
}

// STS returns an STS client for cfg on the configured endpoint.
func (s Settings) STS(cfg aws.Config) *sts.Client {
	return sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = endpoint(s.Endpoints.STS, o.BaseEndpoint) })
}

// IAM returns an IAM client for cfg on the configured endpoint.
func (s Settings) IAM(cfg aws.Config) *iam.Client {
	return iam.NewFromConfig(cfg, func(o *iam.Options) { o.BaseEndpoint = endpoint(s.Endpoints.IAM, o.BaseEndpoint) })
}

// endpoint prefers the provider's setting over what the SDK found in the environment.
func endpoint(configured string, fromEnv *string) *string {
	if configured != "" {
		return aws.String(configured)
	}
	return fromEnv
}
