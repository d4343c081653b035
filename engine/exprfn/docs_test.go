package exprfn

import (
	"regexp"
	"slices"
	"testing"
)

var docName = regexp.MustCompile(`^(\w+)\(`)

// TestEveryFunctionIsDocumented: the reference lists every function a
// pipeline can call, and nothing else (now is expr's own).
func TestEveryFunctionIsDocumented(t *testing.T) {
	documented := map[string]bool{}
	for _, d := range Docs {
		for _, f := range d.Forms {
			m := docName.FindStringSubmatch(f)
			if m == nil {
				t.Errorf("doc form %q does not start with name(", f)
				continue
			}
			documented[m[1]] = true
		}
	}
	names := Names()
	for _, n := range names {
		if !documented[n] {
			t.Errorf("function %s has no entry in Docs (docs.go): add one", n)
		}
	}
	for n := range documented {
		if !slices.Contains(names, n) && n != "now" {
			t.Errorf("Docs documents %s, which is not registered", n)
		}
	}
}
