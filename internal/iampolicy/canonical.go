package iampolicy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Canonical returns the statements of a policy document as IAM evaluates them: one line per
// statement, "<Effect> <sorted actions> on <sorted resources>", the lines sorted. Sids, order and
// the string-or-list spelling drop out, so two documents grant the same iff their Canonical forms
// are equal.
func Canonical(doc string) ([]string, error) {
	var parsed struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   json.RawMessage
			Resource json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(doc), &parsed); err != nil {
		return nil, fmt.Errorf("iampolicy: parsing policy document: %w", err)
	}
	if parsed.Version != "2012-10-17" {
		return nil, fmt.Errorf("iampolicy: policy Version is %q, want 2012-10-17", parsed.Version)
	}
	out := make([]string, 0, len(parsed.Statement))
	for i, s := range parsed.Statement {
		actions, err := stringOrList(s.Action)
		if err != nil {
			return nil, fmt.Errorf("iampolicy: statement %d Action: %w", i, err)
		}
		resources, err := stringOrList(s.Resource)
		if err != nil {
			return nil, fmt.Errorf("iampolicy: statement %d Resource: %w", i, err)
		}
		out = append(out, s.Effect+" "+actions+" on "+resources)
	}
	slices.Sort(out)
	return out, nil
}

// stringOrList decodes a JSON string or list of strings into a sorted, de-duplicated, comma
// joined string.
func stringOrList(raw json.RawMessage) (string, error) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		var one string
		if err := json.Unmarshal(raw, &one); err != nil {
			return "", fmt.Errorf("neither a string nor a list of strings: %s", raw)
		}
		list = []string{one}
	}
	set := map[string]bool{}
	for _, s := range list {
		set[s] = true
	}
	return strings.Join(sorted(set), ","), nil
}
