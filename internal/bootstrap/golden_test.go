package bootstrap

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of the user data")

// TestRender_golden renders every role × distribution × option set and compares it with its
// golden file (testdata/golden; `go test -run TestRender_golden -update` rewrites them, and the
// diff is what a change does to the nodes).
func TestRender_golden(t *testing.T) {
	p := fixturePKI()
	seen := map[string]bool{}
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			got, err := Render(f.node, f.launch(p))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", f.name+".yaml")
			seen[filepath.Base(path)] = true
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v: run `go test ./internal/bootstrap -run TestRender_golden -update`", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file; if the change is meant, rerun with -update and review the diff\n--- got:\n%s", path, got)
			}
		})
	}
	entries, _ := os.ReadDir(filepath.Join("testdata", "golden"))
	var stale []string
	for _, e := range entries {
		if !seen[e.Name()] {
			stale = append(stale, e.Name())
		}
	}
	slices.Sort(stale)
	if len(stale) > 0 && !*update {
		t.Errorf("golden files of no case: %v", stale)
	}
}
