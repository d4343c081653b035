package schema_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/validate"
	"github.com/crmsync/crmsync/schema"
	"github.com/crmsync/crmsync/schema/internal/gen"
	"github.com/santhosh-tekuri/jsonschema/v6"
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

func valid(t *testing.T, doc string) error {
	t.Helper()
	sch, err := schema.Compiled()
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(v)
}

func pipeline(source, entity string) string {
	return `{"version": 1, "name": "crm", "source": ` + source + `,
	  "entities": {"e": {"primary_key": "id", "fields": {"id": "id"}` + entity + `}}}`
}

// TestSchemaNarrowsBySourceType: a source and its entities take only the
// keys of the source's type.
func TestSchemaNarrowsBySourceType(t *testing.T) {
	for _, c := range []struct {
		name, source, entity string
		ok                   bool
	}{
		{"http", `{"type": "http", "base_url": "http://x"}`, `, "request": {"path": "/e"}, "records": "results"`, true},
		{"sql key in http source", `{"type": "http", "base_url": "http://x", "dsn": "x"}`, ``, false},
		{"sql key in http entity", `{"type": "http", "base_url": "http://x"}`, `, "from": "t"`, false},
		{"file key in http entity", `{"type": "http", "base_url": "http://x"}`, `, "required_columns": "a"`, false},
		{"sql", `{"type": "sql", "driver": "postgres", "dsn": "x"}`, `, "from": "t", "columns": ["id"]`, true},
		{"http key in sql entity", `{"type": "sql", "driver": "postgres", "dsn": "x"}`, `, "request": {"path": "/e"}`, false},
		{"file", `{"type": "file", "path": "x.csv", "csv": {"encoding": "utf16"}}`, `, "format": "csv"`, true},
		{"http key in file source", `{"type": "file", "path": "x.csv", "base_url": "http://x"}`, ``, false},
		{"github", `{"type": "github", "repo": "o/r", "path": "x.csv", "base_url": "http://x", "timeout": "5s"}`, `, "path": "y.csv"`, true},
		{"sql key in github entity", `{"type": "github", "repo": "o/r"}`, `, "query": "select 1"`, false},
		{"unknown key, unknown type", `{"type": "ftp", "bogus": 1}`, ``, false},
	} {
		err := valid(t, pipeline(c.source, c.entity))
		if (err == nil) != c.ok {
			t.Errorf("%s: valid %v, want %v (%v)", c.name, err == nil, c.ok, err)
		}
	}
}

// TestSchemaAgreesWithCompile: the values compile accepts, and only
// those, pass the schema.
func TestSchemaAgreesWithCompile(t *testing.T) {
	httpWith := func(req string) string {
		return pipeline(`{"type": "http", "base_url": "http://x"}`, `, "request": {"path": "/e"`+req+`}`)
	}
	fileWith := func(enc string) string {
		return pipeline(`{"type": "file", "path": "x.csv", "csv": {"encoding": "`+enc+`"}}`, ``)
	}
	for _, c := range []struct {
		name, doc string
		ok        bool
	}{
		{"GET", httpWith(`, "method": "GET"`), true},
		{"POST", httpWith(`, "method": "POST"`), true},
		{"PUT", httpWith(`, "method": "PUT"`), false},
		{"PATCH", httpWith(`, "method": "PATCH"`), false},
		{"utf16", fileWith("utf16"), true},
		{"latin-9", fileWith("latin-9"), true},
		{"ebcdic", fileWith("ebcdic"), false},
	} {
		err := valid(t, c.doc)
		if (err == nil) != c.ok {
			t.Errorf("%s: valid %v, want %v (%v)", c.name, err == nil, c.ok, err)
		}
	}
}

// TestValidatorNamesOfferedUnconditionally: editors complete an empty
// validator list item from an enum that no if/then hides.
func TestValidatorNamesOfferedUnconditionally(t *testing.T) {
	var doc struct {
		Defs map[string]struct {
			AnyOf []struct {
				Type string   `json:"type"`
				Enum []string `json:"enum"`
			} `json:"anyOf"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(schema.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	for _, b := range doc.Defs["validator"].AnyOf {
		if b.Type == "string" {
			if !slices.Equal(b.Enum, validate.Names()) {
				t.Errorf("validator names %v, registry %v", b.Enum, validate.Names())
			}
			return
		}
	}
	t.Error("$defs/validator has no anyOf branch listing the names")
}
