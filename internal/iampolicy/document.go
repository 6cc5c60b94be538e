package iampolicy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MaxManagedPolicySize is the number of characters, white space excluded, that AWS allows in a
// customer managed policy.
const MaxManagedPolicySize = 6144

// Params are the inputs of the policy documents.
type Params struct {
	// Partition is "aws", "aws-cn" or "aws-us-gov"; empty means the region's partition.
	Partition string
	// Region is an AWS region or "*".
	Region string
	// AccountID is a 12-digit account ID or "*".
	AccountID string
	// PassRoles are role names or role ARNs the nodes' instance profiles carry.
	PassRoles []string
	// KMSKeys are key IDs or key ARNs that encrypt the nodes' EBS volumes.
	KMSKeys []string
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document.
type Statement struct {
	Sid      string `json:"Sid"`
	Effect   string `json:"Effect"`
	Action   Values `json:"Action"`
	Resource Values `json:"Resource"`
}

// Values is a sorted list of strings that encodes as a JSON string when it holds one value, as
// IAM's own documents do.
type Values []string

// MarshalJSON implements json.Marshaler.
func (v Values) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return json.Marshal(v[0])
	}
	return json.Marshal([]string(v))
}

// Documents are the policies built from one Params.
type Documents struct {
	// Provisioning is what the provisioning client needs: the base flow plus iam:PassRole when
	// roles are passed.
	Provisioning Document
	// EBSEncryption is what encrypting volumes with KMS keys needs; nil without keys.
	EBSEncryption *Document
	// Combined holds every statement of the two above in one document.
	Combined Document
}

// Rendered is a document encoded for people and for AWS.
type Rendered struct {
	// JSON is indented with two spaces.
	JSON string
	// Minified has no white space; it is what AWS counts against MaxManagedPolicySize.
	Minified string
	// Size is the length of Minified in characters.
	Size int
}

// ErrTooLarge is wrapped by errors for documents over MaxManagedPolicySize.
var ErrTooLarge = errors.New("policy document is too large")

// Build validates p and builds its documents. It returns an error wrapping ErrTooLarge when the
// provisioning or EBS encryption document exceeds MaxManagedPolicySize; the combined document is
// not checked, since it is optional (see Rendered.Size).
func Build(p Params) (Documents, error) {
	p, err := p.normalized()
	if err != nil {
		return Documents{}, err
	}
	features := map[Feature]bool{Base: true, PassRole: len(p.PassRoles) > 0, EBSEncryption: len(p.KMSKeys) > 0}
	docs := Documents{
		Provisioning: p.document(features, Base, PassRole),
		Combined:     p.document(features, Base, PassRole, EBSEncryption),
	}
	if features[EBSEncryption] {
		d := p.document(features, EBSEncryption)
		docs.EBSEncryption = &d
	}
	for name, d := range map[string]*Document{"provisioning": &docs.Provisioning, "EBS encryption": docs.EBSEncryption} {
		if d == nil {
			continue
		}
		r, err := d.Render()
		if err != nil {
			return Documents{}, err
		}
		if r.Size > MaxManagedPolicySize {
			return Documents{}, fmt.Errorf("%w: the %s policy is %d characters minified, over the %d AWS allows in a managed policy; pass fewer roles or keys per document", ErrTooLarge, name, r.Size, MaxManagedPolicySize)
		}
	}
	return docs, nil
}

// Render encodes d, deterministically.
func (d Document) Render() (Rendered, error) {
	var pretty, mini bytes.Buffer
	for _, c := range []struct {
		buf    *bytes.Buffer
		indent string
	}{{&pretty, "  "}, {&mini, ""}} {
		enc := json.NewEncoder(c.buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", c.indent)
		if err := enc.Encode(d); err != nil {
			return Rendered{}, fmt.Errorf("iampolicy: encoding document: %w", err)
		}
	}
	m := strings.TrimSuffix(mini.String(), "\n")
	return Rendered{JSON: strings.TrimSuffix(pretty.String(), "\n"), Minified: m, Size: len(m)}, nil
}

// FieldError is an input error tied to the Params field (by its Terraform attribute name) that
// it concerns.
type FieldError struct {
	Field string
	Err   error
}

func (e FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e FieldError) Unwrap() error { return e.Err }

// Check validates every field of p that is set, and that the fields agree with each other. An
// empty Region or AccountID counts as not known yet and is skipped, so callers can check a
// configuration whose values are partly unknown.
func (p Params) Check() []FieldError {
	var errs []FieldError
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, FieldError{Field: field, Err: err})
		}
	}
	if p.Region != "" {
		add("region", ValidateRegion(p.Region))
	}
	if p.AccountID != "" {
		add("account_id", ValidateAccountID(p.AccountID))
	}
	partition := p.Partition
	if partition != "" {
		add("partition", ValidatePartition(partition))
		if p.Region != "" && p.Region != "*" && ValidateRegion(p.Region) == nil && PartitionForRegion(p.Region) != partition {
			add("partition", fmt.Errorf("region %q is in partition %q, not %q; drop partition or make the two agree", p.Region, PartitionForRegion(p.Region), partition))
		}
	} else if p.Region != "" {
		partition = PartitionForRegion(p.Region)
	}
	for _, r := range p.PassRoles {
		if err := ValidateRoleName(r); err != nil {
			add("pass_role_names", err)
		} else if m := roleARNRe.FindStringSubmatch(r); m != nil && partition != "" && m[1] != partition {
			add("pass_role_names", fmt.Errorf("%q is in partition %q, not %q", r, m[1], partition))
		}
	}
	for _, k := range p.KMSKeys {
		if err := ValidateKMSKeyID(k); err != nil {
			add("kms_key_ids", err)
			continue
		}
		m := keyARNRe.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		if partition != "" && m[1] != partition {
			add("kms_key_ids", fmt.Errorf("%q is in partition %q, not %q", k, m[1], partition))
		}
		if p.Region != "" && p.Region != "*" && m[2] != p.Region {
			add("kms_key_ids", fmt.Errorf("%q is in region %q; EBS volumes in %q can only use keys from their own region", k, m[2], p.Region))
		}
	}
	return errs
}

// normalized validates p, which must have a region and an account, and fills in the partition.
func (p Params) normalized() (Params, error) {
	var errs []error
	if p.Region == "" {
		errs = append(errs, errors.New("region: required; give a region name or \"*\""))
	}
	if p.AccountID == "" {
		errs = append(errs, errors.New("account_id: required; give the 12-digit account ID or \"*\""))
	}
	for _, e := range p.Check() {
		errs = append(errs, e)
	}
	if p.Partition == "" {
		p.Partition = PartitionForRegion(p.Region)
	}
	return p, errors.Join(errs...)
}

// document builds the statements of the given features that are switched on.
func (p Params) document(on map[Feature]bool, features ...Feature) Document {
	return buildDocument(registry, statementOrder, on, features, p.arns)
}

// buildDocument builds a document from the actions of reg whose feature is one of features and
// switched on in on: one statement per Sid, in the order of sids, that grants the statement's
// actions on "*" for an action without resource types and on arns(t) for each type t it has.
func buildDocument(reg []Action, sids []string, on map[Feature]bool, features []Feature, arns func(ResourceType) []string) Document {
	want := map[Feature]bool{}
	for _, f := range features {
		want[f] = on[f]
	}
	doc := Document{Version: "2012-10-17"}
	for _, sid := range sids {
		actions := map[string]bool{}
		resources := map[string]bool{}
		for _, a := range reg {
			if a.Statement != sid || !want[a.Feature] {
				continue
			}
			actions[a.granted()] = true
			if a.Resources == nil {
				resources["*"] = true
			}
			for _, t := range a.Resources {
				for _, arn := range arns(t) {
					resources[arn] = true
				}
			}
		}
		if len(actions) == 0 {
			continue
		}
		doc.Statement = append(doc.Statement, Statement{Sid: sid, Effect: "Allow", Action: sorted(actions), Resource: sorted(resources)})
	}
	return doc
}

// arns returns the resource ARNs a statement lists for t.
func (p Params) arns(t ResourceType) []string {
	switch t {
	case Image:
		return []string{fmt.Sprintf("arn:%s:ec2:%s::image/ami-*", p.Partition, p.Region)}
	case Role:
		return p.named(p.PassRoles, "arn:%s:iam::%s:role/%s", p.AccountID)
	case KMSKey:
		return p.named(p.KMSKeys, "arn:%s:kms:%s:%s:key/%s", p.Region, p.AccountID)
	default:
		return []string{fmt.Sprintf("arn:%s:ec2:%s:%s:%s/*", p.Partition, p.Region, p.AccountID, t)}
	}
}

// named turns names into ARNs with format, leaving values that already are ARNs alone.
func (p Params) named(names []string, format string, args ...any) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if strings.HasPrefix(n, "arn:") {
			out = append(out, n)
			continue
		}
		out = append(out, fmt.Sprintf(format, append(append([]any{p.Partition}, args...), n)...))
	}
	return out
}

func sorted(set map[string]bool) Values {
	return slices.Sorted(maps.Keys(set))
}
