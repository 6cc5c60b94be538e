package provider

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

// TestAddPolicyBuildError: a document over the limit is "IAM policy too large" with the advice
// before the error; any other error is invalid input under the given summary.
func TestAddPolicyBuildError(t *testing.T) {
	tooLarge := fmt.Errorf("%w: the node policy is 7000 characters", iampolicy.ErrTooLarge)
	for _, tc := range []struct {
		err                   error
		wantSummary, wantText string
	}{
		{tooLarge, "IAM policy too large", "Use fewer roles.\n\n" + tooLarge.Error()},
		{errors.New("region: required"), "Invalid input", "region: required"},
	} {
		var diags diag.Diagnostics
		addPolicyBuildError(&diags, tc.err, "Use fewer roles.", "Invalid input")
		if len(diags) != 1 || diags[0].Summary() != tc.wantSummary || diags[0].Detail() != tc.wantText {
			t.Errorf("%v: diagnostics %v; want one error %q: %q", tc.err, diags, tc.wantSummary, tc.wantText)
		}
	}
}

// TestRenderPolicy: a document is rendered as iampolicy renders it, with no diagnostic.
func TestRenderPolicy(t *testing.T) {
	doc := iampolicy.Document{Version: "2012-10-17", Statement: []iampolicy.Statement{
		{Sid: "A", Effect: "Allow", Action: iampolicy.Values{"ec2:DescribeImages"}, Resource: iampolicy.Values{"*"}}}}
	want, err := doc.Render()
	if err != nil {
		t.Fatal(err)
	}
	var diags diag.Diagnostics
	got, ok := renderPolicy(doc, &diags)
	if !ok || got != want || diags.HasError() {
		t.Errorf("renderPolicy = %+v, %v (diagnostics %v); want %+v, true", got, ok, diags, want)
	}
}
