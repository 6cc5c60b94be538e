package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// opTimeout is how long an operation may take: what the resource's timeouts block gives it, read
// by read (m.Timeouts.Create, say), or def when the block gives none. A diagnostic of reading it
// goes to diags.
func opTimeout(ctx context.Context, read func(context.Context, time.Duration) (time.Duration, diag.Diagnostics), def time.Duration, diags *diag.Diagnostics) time.Duration {
	timeout, d := read(ctx, def)
	diags.Append(d...)
	return timeout
}
