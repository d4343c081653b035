package transform_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
)

// TestLookupsInExpressions: lookup.<name> reads the records handed to the
// processor; an unknown lookup name is a lint error with a suggestion;
// "lookup" is a reserved field name once the source has lookups.
func TestLookupsInExpressions(t *testing.T) {
	compileFields := func(fields string) (*transform.Program, string) {
		src := "version: 1\nname: p\nsource: {type: http}\nentities:\n  e:\n    primary_key: id\n    fields:\n      id: id\n" + fields
		p, err := config.Parse("t.yaml", []byte(src), config.Options{}).Decode()
		if err != nil {
			t.Fatal(err)
		}
		prog, problems := transform.Compile(transform.Options{Pipeline: "p", Entity: "e", Path: "/entities/e", Fields: p.Entities[0].Fields,
			PrimaryKey: []string{"id"}, Timezone: time.UTC, Region: "US", Lookups: []string{"lead_sources", "person_fields"}})
		var msgs []string
		for _, pr := range problems {
			msgs = append(msgs, pr.Path+" "+pr.Code+": "+pr.Message)
		}
		return prog, strings.Join(msgs, "\n")
	}
	for _, tc := range []struct{ name, fields, want string }{
		{"known", `      k: {expr: 'raw[lookup.person_fields["Lead source"].key]'}` + "\n", ""},
		{"index form", `      k: {expr: 'lookup["person_fields"]["Lead source"]?.key'}` + "\n", ""},
		{"misspelt", `      k: {expr: 'lookup.person_feilds["Lead source"].key'}` + "\n", `unknown lookup "person_feilds" (source.lookups: lead_sources, person_fields); did you mean "person_fields"?`},
		{"reserved", "      lookup: x\n", `field name "lookup" is reserved for expressions (it names the source's lookups)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, msgs := compileFields(tc.fields)
			if (tc.want == "") != (msgs == "") || !strings.Contains(msgs, tc.want) {
				t.Fatalf("problems %q, want %q", msgs, tc.want)
			}
		})
	}
	prog, _ := compileFields(`      k: {expr: 'raw[lookup.person_fields["Lead source"].key]', type: integer}` + "\n")
	pr := prog.NewProcessor(transform.Context{SyncStarted: time.Now(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Lookups: map[string]any{"person_fields": map[string]any{"Lead source": map[string]any{"key": "abc123"}}}})
	if !prog.UsesLookups() {
		t.Fatal("UsesLookups is false")
	}
	out := transform.Output{Values: make([]any, len(prog.Fields()))}
	pr.Process(source.Record{JSON: `{"id":1,"abc123":7}`}, &out)
	if out.Values[1] != int64(7) {
		t.Fatalf("k = %#v, want 7", out.Values[1])
	}
}
