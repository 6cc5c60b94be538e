package provider

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// TestOpTimeout: the timeout is what the block's reader gives for the default, and what it
// reports is added to the diagnostics already there.
func TestOpTimeout(t *testing.T) {
	var gotDefault time.Duration
	read := func(_ context.Context, def time.Duration) (time.Duration, diag.Diagnostics) {
		gotDefault = def
		return 7 * time.Minute, diag.Diagnostics{diag.NewErrorDiagnostic("Invalid timeout", "bad")}
	}
	diags := diag.Diagnostics{diag.NewWarningDiagnostic("earlier", "kept")}
	if got := opTimeout(context.Background(), read, 3*time.Minute, &diags); got != 7*time.Minute {
		t.Errorf("opTimeout = %s; want 7m0s", got)
	}
	if gotDefault != 3*time.Minute {
		t.Errorf("the reader was given %s; want the default 3m0s", gotDefault)
	}
	if len(diags) != 2 || diags[0].Summary() != "earlier" || diags[1].Summary() != "Invalid timeout" {
		t.Errorf("diagnostics %v; want the earlier warning, then the reader's error", diags)
	}
}
