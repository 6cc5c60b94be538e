package provider

import (
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/ec2k8s/terraform-provider-ec2k8s/internal/iampolicy"
)

// What the IAM policy data sources (ec2k8s_iam_policy, ec2k8s_node_iam_policy) share: how they
// describe a document's size, report a failed build and encode a document.

// policySizeDescription describes the size of the minified document in the attribute named of.
func policySizeDescription(of string) string {
	return fmt.Sprintf("Length of `%s`, which is what AWS counts against its %d-character limit for managed "+
		"policies. Over it, the data source fails.", of, iampolicy.MaxManagedPolicySize)
}

// addPolicyBuildError reports err, from iampolicy.Build or BuildNode: a document over the
// managed-policy limit with tooLarge (what to change) before the error, or else invalid input
// under the summary invalid.
func addPolicyBuildError(diags *diag.Diagnostics, err error, tooLarge, invalid string) {
	if errors.Is(err, iampolicy.ErrTooLarge) {
		diags.AddError("IAM policy too large", tooLarge+"\n\n"+err.Error())
		return
	}
	diags.AddError(invalid, err.Error())
}

// renderPolicy encodes doc; ok is false after an error, which is in diags.
func renderPolicy(doc iampolicy.Document, diags *diag.Diagnostics) (r iampolicy.Rendered, ok bool) {
	r, err := doc.Render()
	if err != nil {
		diags.AddError("Cannot encode the IAM policy", err.Error())
		return r, false
	}
	return r, true
}
