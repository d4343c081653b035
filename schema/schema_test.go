package schema_test

import (
	"bytes"
	"testing"

	"github.com/crmsync/crmsync/schema"
	"github.com/crmsync/crmsync/schema/internal/gen"
)

// TestSchemaIsGenerated fails when pipeline.schema.json is not what the
// generator makes from today's registries and descriptions.
func TestSchemaIsGenerated(t *testing.T) {
	want, err := gen.Schema()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(schema.JSON, want) {
		a, b := string(schema.JSON), string(want)
		line := 1
		for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
			if a[i] == '\n' {
				line++
			}
		}
		t.Fatalf("schema/pipeline.schema.json is stale (first difference on line %d): run go generate ./schema/ and commit the result", line)
	}
}

// TestSchemaCompiles: the generated schema is valid JSON Schema.
func TestSchemaCompiles(t *testing.T) {
	if _, err := schema.Compiled(); err != nil {
		t.Fatal(err)
	}
}
