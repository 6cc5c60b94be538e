package nodesandbox

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseYAML decodes a YAML document whose top level is a mapping (an empty document is an
// empty map). It decodes YAML 1.2 (gopkg.in/yaml.v3): unlike RKE2 and k3s, which read their
// config with gopkg.in/yaml.v2 (YAML 1.1), it reads an unquoted yes/no/on/off as a string, not
// a boolean; quote such values, as RKE2's documentation does.
func ParseYAML(data []byte) (map[string]any, error) {
	out := map[string]any{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("nodesandbox: parsing YAML: %w", err)
	}
	return out, nil
}

// ConfigDoc is one config file for MergeConfigs: its name (for errors) and its content.
type ConfigDoc struct {
	Name string
	Data []byte
}

// MergeConfigs merges RKE2/k3s config files, given in load order (config.yaml first, then the
// drop-ins of config.yaml.d in lexical order), the way RKE2 and k3s do:
//
//   - "The last value for a given key will be used. Slices are replaced." (RKE2, "Configuration
//     Options", Multiple Config Files: https://docs.rke2.io/install/configuration).
//   - A key suffixed with "+" appends to the value the earlier files gave that key instead of
//     replacing it (k3s, "Configuration", Multiple Config Files:
//     https://docs.k3s.io/installation/configuration; RKE2 uses the same parser, k3s'
//     pkg/configfilearg). In that parser (readConfigFile) the "+" is stripped from the key; if
//     the key already has a value, old and new are both made lists (a string or other scalar
//     becomes a one-element list, an empty scalar none) and concatenated; if it has none, the
//     new value is taken as it is.
//
// Only top-level keys merge: a nested mapping is a value like any other (RKE2's config is flat).
func MergeConfigs(docs ...ConfigDoc) (map[string]any, error) {
	out := map[string]any{}
	for _, d := range docs {
		keys, values, err := orderedKeys(d.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.Name, err)
		}
		for i, k := range keys {
			key, v := strings.TrimSuffix(k, "+"), values[i]
			if old, ok := out[key]; ok && key != k {
				out[key] = append(toSlice(old), toSlice(v)...)
				continue
			}
			out[key] = v
		}
	}
	return out, nil
}

// orderedKeys decodes the top-level mapping of a YAML document keeping the order of its keys,
// which matters when one file has both "k" and "k+".
func orderedKeys(data []byte) ([]string, []any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("nodesandbox: parsing YAML: %w", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil, nil // an empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("nodesandbox: the top level is not a mapping (line %d)", m.Line)
	}
	var keys []string
	var values []any
	for i := 0; i+1 < len(m.Content); i += 2 {
		var v any
		if err := m.Content[i+1].Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("nodesandbox: key %q: %w", m.Content[i].Value, err)
		}
		keys = append(keys, m.Content[i].Value)
		values = append(values, v)
	}
	return keys, values, nil
}

// toSlice is k3s' configfilearg.toSlice: a list stays, a string is a one-element list, another
// scalar is its string form (none if that is empty).
func toSlice(v any) []any {
	switch x := v.(type) {
	case string:
		return []any{x}
	case []any:
		return append([]any(nil), x...)
	case nil:
		return nil
	default:
		s := strings.TrimSpace(fmt.Sprint(x))
		if s == "" {
			return nil
		}
		return []any{s}
	}
}
