package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
)

// TestConfiguredData: nothing before Configure ran, the data after, and a bug report for
// anything else.
func TestConfiguredData(t *testing.T) {
	data := &providerData{}
	for _, tc := range []struct {
		name    string
		in      any
		want    *providerData
		wantErr string
	}{
		{"not configured yet", nil, nil, ""},
		{"configured", data, data, ""},
		{"another type", "data", nil, "Expected *providerData, got string. This is a bug in the provider; please report it."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var diags diag.Diagnostics
			got := configuredData(tc.in, &diags)
			if got != tc.want {
				t.Errorf("configuredData = %p; want %p", got, tc.want)
			}
			var detail string
			if diags.HasError() {
				detail = diags[0].Detail()
			}
			if len(diags) > 1 || detail != tc.wantErr {
				t.Errorf("diagnostics %v; want the error %q", diags, tc.wantErr)
			}
		})
	}
}

func TestAddNotConfigured(t *testing.T) {
	var diags diag.Diagnostics
	addNotConfigured(&diags)
	if len(diags) != 1 || diags[0].Severity() != diag.SeverityError || diags[0].Summary() != "Provider not configured" {
		t.Errorf("diagnostics %v; want one error, Provider not configured", diags)
	}
}
