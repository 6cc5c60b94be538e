package nodesandbox

import (
	"reflect"
	"strings"
	"testing"
)

// TestMergeConfigs_rke2DocsExample is the example of RKE2's "Multiple Config Files"
// (https://docs.rke2.io/install/configuration): the last value wins, slices are replaced.
func TestMergeConfigs_rke2DocsExample(t *testing.T) {
	got, err := MergeConfigs(
		ConfigDoc{"config.yaml", []byte("token: boop\nnode-label:\n  - foo=bar\n  - bar=baz\n")},
		ConfigDoc{"config.yaml.d/test1.yaml", []byte("write-kubeconfig-mode: 600\n")},
		ConfigDoc{"config.yaml.d/test2.yaml", []byte("write-kubeconfig-mode: 777\nnode-label:\n  - other=what\n  - foo=three\n")},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"write-kubeconfig-mode": 777, "token": "boop", "node-label": []any{"other=what", "foo=three"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
}

// TestMergeConfigs_append: a key ending in "+" appends (k3s' configfilearg.readConfigFile).
func TestMergeConfigs_append(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  map[string]any
	}{
		{"list to list", []string{"node-taint: [a]", "node-taint+: [b, c]"}, map[string]any{"node-taint": []any{"a", "b", "c"}}},
		{"scalar to string", []string{"tls-san: x", "tls-san+: y"}, map[string]any{"tls-san": []any{"x", "y"}}},
		{"number to list", []string{"k: [a]", "k+: 7"}, map[string]any{"k": []any{"a", "7"}}},
		{"nothing to append to", []string{"other: 1", "node-label+: [a=b]"}, map[string]any{"other": 1, "node-label": []any{"a=b"}}},
		{"nothing to append to, scalar", []string{"", "token+: t"}, map[string]any{"token": "t"}},
		{"replace after append", []string{"k: [a]", "k+: [b]", "k: [c]"}, map[string]any{"k": []any{"c"}}},
		{"in file order", []string{"k: [a]\nk+: [b]"}, map[string]any{"k": []any{"a", "b"}}},
		{"replace in file order", []string{"k+: [b]\nk: [a]"}, map[string]any{"k": []any{"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var docs []ConfigDoc
			for i, f := range tc.files {
				docs = append(docs, ConfigDoc{Name: string(rune('a' + i)), Data: []byte(f)})
			}
			got, err := MergeConfigs(docs...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestMergeConfigs_errors(t *testing.T) {
	for name, data := range map[string]string{"not yaml": "a: [", "a list": "- a\n- b\n"} {
		if _, err := MergeConfigs(ConfigDoc{"config.yaml.d/bad.yaml", []byte(data)}); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
}

func TestParseYAML(t *testing.T) {
	m, err := ParseYAML([]byte("a: 1\nb: [x]\nc: {d: e}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": 1, "b": []any{"x"}, "c": map[string]any{"d": "e"}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %#v", m)
	}
	if m, err := ParseYAML(nil); err != nil || len(m) != 0 {
		t.Errorf("empty document: %v, %v", m, err)
	}
}
