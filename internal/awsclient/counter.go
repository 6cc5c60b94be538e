package awsclient

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// CallCounter counts AWS API calls by operation: logical calls (what the code asked for) and
// attempts (what went over the wire, retries included). It is safe for concurrent use.
type CallCounter struct {
	mu       sync.Mutex
	calls    map[string]int
	attempts map[string]int
	elapsed  map[string]time.Duration
	// inFlight calls since busySince; busy is the wall time with at least one call in flight.
	inFlight  int
	busySince time.Time
	busy      time.Duration
}

// NewCallCounter returns an empty counter.
func NewCallCounter() *CallCounter {
	return &CallCounter{calls: map[string]int{}, attempts: map[string]int{}, elapsed: map[string]time.Duration{}}
}

// Elapsed returns the time spent in calls (retries and backoff included), by operation.
func (c *CallCounter) Elapsed() map[string]time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.elapsed)
}

// Busy returns the wall time during which at least one call was in flight. Unlike the sum of
// Elapsed, it counts concurrent calls once.
func (c *CallCounter) Busy() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight > 0 {
		return c.busy + time.Since(c.busySince)
	}
	return c.busy
}

func (c *CallCounter) begin() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.inFlight == 0 {
		c.busySince = now
	}
	c.inFlight++
	return now
}

func (c *CallCounter) end(op string, start time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	c.elapsed[op] += now.Sub(start)
	if c.inFlight--; c.inFlight == 0 {
		c.busy += now.Sub(c.busySince)
	}
}

func (c *CallCounter) add(m map[string]int, op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m[op]++
}

// Calls returns the logical calls so far, by operation.
func (c *CallCounter) Calls() map[string]int { return c.copy(c.calls) }

// Attempts returns the attempts so far, by operation.
func (c *CallCounter) Attempts() map[string]int { return c.copy(c.attempts) }

// Total returns the number of logical calls.
func (c *CallCounter) Total() int {
	n := 0
	for _, v := range c.Calls() {
		n += v
	}
	return n
}

// Reset forgets every count.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls, c.attempts, c.elapsed = map[string]int{}, map[string]int{}, map[string]time.Duration{}
	c.busy, c.busySince = 0, time.Now()
}

func (c *CallCounter) copy(m map[string]int) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(m)
}

// Operations returns the operation names of m, sorted.
func Operations(m map[string]int) []string {
	return slices.Sorted(maps.Keys(m))
}

// apiOption installs the counter in a client's middleware stack: once per call before the
// retry loop, once per attempt after it.
func (c *CallCounter) apiOption(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("ec2k8sCountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := awsmiddleware.GetOperationName(ctx)
			c.add(c.calls, op)
			start := c.begin()
			defer c.end(op, start)
			return next.HandleInitialize(ctx, in)
		}), middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("ec2k8sCountAttempts",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.add(c.attempts, awsmiddleware.GetOperationName(ctx))
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}
