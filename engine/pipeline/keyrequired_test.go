package pipeline_test

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
)

// TestStrictLintKeyNotRequired: lint --strict flags a primary key field
// without required; a required key, or plain lint, says nothing.
func TestStrictLintKeyNotRequired(t *testing.T) {
	file := func(id string) []byte {
		return []byte("version: 1\nname: crm\nsource: {type: file, path: x.csv}\nentities:\n  leads:\n    primary_key: id\n    fields:\n      id: " + id + "\n      name: name\n")
	}
	_, fs := pipeline.Load("p.yaml", file("id"), pipeline.Options{StrictLint: true})
	if len(fs) != 1 || fs[0].Code != "key-not-required" || !strings.Contains(fs[0].Message, `primary key field "id"`) || fs[0].Line != 8 {
		t.Fatalf("strict: %v", fs)
	}
	if _, fs := pipeline.Load("p.yaml", file("id"), pipeline.Options{}); len(fs) != 0 {
		t.Fatalf("plain lint: %v", fs)
	}
	for _, id := range []string{"{path: id, required: true}", "{path: id, validate: [required]}"} {
		if _, fs := pipeline.Load("p.yaml", file(id), pipeline.Options{StrictLint: true}); len(fs) != 0 {
			t.Fatalf("%s: %v", id, fs)
		}
	}
}
