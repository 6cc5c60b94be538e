package provisioning

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Client is the provisioning client for one region. Every EC2 call it makes is in EC2API.
type Client struct {
	EC2 EC2API
	// Poll is how often waits ask EC2; 2s when zero.
	Poll time.Duration
	// Retry bounds the client's own retries: of errors that pass by themselves (EC2's eventual
	// consistency) and of launches whose answer was lost. DefaultRetry when zero. Throttling and
	// server faults of other calls are the SDK retryer's.
	Retry Retry
	// Concurrency bounds the tagging calls in flight at once; 8 when zero.
	Concurrency int
	// Progress reports what the client does, for the provider's log; may be nil.
	Progress func(msg string, fields map[string]any)
	// Servers follows the server pools of the run across clients; may be nil.
	Servers *Servers
}

// Retry is a bounded, capped exponential backoff.
type Retry struct {
	// Attempts is how many times a call is made in all.
	Attempts int
	// Base is the first wait; each next one doubles, up to Max.
	Base, Max time.Duration
}

// DefaultRetry waits about 20 seconds in all: EC2 documents its eventual consistency in
// seconds (https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html).
var DefaultRetry = Retry{Attempts: 8, Base: 200 * time.Millisecond, Max: 5 * time.Second}

func (r Retry) backoff(attempt int) time.Duration {
	return min(r.Base<<min(attempt-1, 16), r.Max)
}

func (c *Client) retry() Retry {
	if c.Retry.Attempts > 0 {
		return c.Retry
	}
	return DefaultRetry
}

func (c *Client) concurrency() int {
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return 8
}

func (c *Client) progress(msg string, fields map[string]any) {
	if c.Progress != nil {
		c.Progress(msg, fields)
	}
}

func (c *Client) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return 2 * time.Second
}

// retryOn calls fn until it succeeds, fails with an error whose code is not in codes, the
// attempts run out, or ctx ends; it returns fn's last error. It is for errors that pass by
// themselves, such as a resource made a moment ago that another call does not see yet.
func (c *Client) retryOn(ctx context.Context, codes []string, fn func() error) error {
	r := c.retry()
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !slices.Contains(codes, errorCode(err)) || attempt >= r.Attempts {
			return err
		}
		c.progress("waiting for EC2 to catch up", map[string]any{"error": errorCode(err), "attempt": attempt})
		if sleep(ctx, r.backoff(attempt)) != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable reports whether a failed call may be tried again: throttling, server faults and
// transport errors, as the SDK's standard retryer judges them.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool()
}

// errorCode is the EC2 error code of err, or "transport" when EC2 gave none.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return "transport"
}

func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
