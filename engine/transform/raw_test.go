package transform

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/jsonpick"
	"github.com/crmsync/crmsync/engine/source"
)

// rawRecords are records the raw cases run on: nested objects, arrays,
// duplicate keys, escaped names and strings, invalid UTF-8, nulls,
// members of every JSON type where an object is expected.
var rawRecords = []string{
	`{"id":"1","a":{"b":1,"c":2},"s":"x","n":3,"list":[{"x":1},{"x":2}]}`,
	`{"id":"2","a":{"b":"one"},"a":{"b":2}}`,
	`{"id":"3","\u0061":{"b":5},"s":"caf\u00e9"}`,
	`{"id":"4","a":{"b":1,"b":7},"n":-2.5e3}`,
	`{"id":"5","a":null,"s":null,"list":null}`,
	`{"id":"6","a":"flat","list":"no"}`,
	`{"id":"7","a":[1,2],"list":[]}`,
	`{"id":"8"}`,
	"{\"id\":\"9\",\"a\":{\"b\":{\"deep\":true,\"x\":[1,{\"y\":null}]}},\"s\":\"bad \xff byte\"}",
	`{"id":"10","properties":{"email":"A@Example.COM","firstname":"Ann"},"s":"\ud800"}`,
	`{"id":"11","a":{},"n":12345678901234567890}`,
	` {"id" : "12" , "a" : { "b" : true } } `,
}

// rawExprs are field expressions over raw: member chains (compiled to
// look-ups of their paths) and uses of the whole of raw.
var rawExprs = []string{
	`raw.a`,
	`raw?.a`,
	`raw.a.b`,
	`raw?.a?.b`,
	`raw["a"]?.b`,
	`raw?.a?.b?.deep`,
	`toJSON(raw?.a)`,
	`toJSON(raw?.a?.b)`,
	`type(raw?.a)`,
	`type(raw?.n)`,
	`raw?.a?.b ?? "none"`,
	`len(raw?.list ?? [])`,
	`raw?.list?.[0]?.x`,
	`raw?.a != nil && raw?.a?.b == 1`,
	`toJSON(raw?.a) + "|" + toJSON(raw?.a?.c)`,
	`raw?.s`,
	`raw?.n`,
	`raw?.properties?.email`,
	`lower(raw?.properties?.email ?? "")`,
	`toJSON(raw?.properties)`,
	`filter(raw?.list ?? [], .x > 1)`,
	`toJSON(raw)`,
	`"a" in raw`,
	`len(keys(raw))`,
	`raw[id]`,
}

// TestRawReadsOnlyItsPaths: for every expression over raw and every
// record, the output (values, outcome, errors and reasons) is what
// decoding the whole record with encoding/json gives.
func TestRawReadsOnlyItsPaths(t *testing.T) {
	for _, ex := range rawExprs {
		prog := compileRaw(t, ex)
		ref := *prog
		ref.raw = &jsonpick.Set{Name: "raw", Whole: true}
		for _, rec := range rawRecords {
			got, want := runRaw(prog, rec), runRaw(&ref, rec)
			if got != want {
				t.Errorf("%s on %s:\n got %s\nwant %s", ex, rec, got, want)
			}
		}
	}
}

// TestRawNeedsTheWholeRecord: which expressions decode the whole record,
// and which paths the others read.
func TestRawNeedsTheWholeRecord(t *testing.T) {
	cases := []struct {
		expr  string
		whole bool
		paths string
	}{
		{`raw.a`, false, "a"},
		{`raw?.a?.b ?? raw?.c`, false, "a.b c"},
		{`raw?.a != nil && raw?.a?.b == 1`, false, "a* a.b"},
		{`len(raw?.list ?? [])`, false, "list"},
		{`raw?.list?.[0]?.x`, false, "list"},
		{`toJSON(raw)`, true, ""},
		{`"a" in raw`, true, ""},
		{`len(keys(raw))`, true, ""},
		{`raw[id]`, true, ""},
	}
	for _, tc := range cases {
		prog := compileRaw(t, tc.expr)
		if prog.raw.Whole != tc.whole {
			t.Errorf("%s: whole %v, want %v", tc.expr, prog.raw.Whole, tc.whole)
		}
		if tc.whole {
			continue
		}
		if got := strings.Join(prog.raw.Paths(), " "); got != tc.paths {
			t.Errorf("%s: paths %q, want %q", tc.expr, got, tc.paths)
		}
	}
}

// TestRawOutOfRangeNumber: a number out of float64's range makes raw nil
// only where an expression reads it (the whole decode failed on one
// anywhere in the record).
func TestRawOutOfRangeNumber(t *testing.T) {
	prog := compileRaw(t, `raw?.s ?? "nil"`)
	if got := runRaw(prog, `{"id":"1","s":"x","n":1e400}`); !strings.Contains(got, `"x"`) {
		t.Errorf("unread 1e400: %s", got)
	}
	prog = compileRaw(t, `toJSON(raw?.n)`)
	if got := runRaw(prog, `{"id":"1","s":"x","n":1e400}`); !strings.Contains(got, `"null"`) {
		t.Errorf("read 1e400: %s", got)
	}
}

func compileRaw(t testing.TB, ex string) *Program {
	t.Helper()
	src := "version: 1\nname: p\nsource: {type: http}\nentities:\n  e:\n    primary_key: id\n    fields:\n      id: id\n      v: {expr: '" + strings.ReplaceAll(ex, "'", "''") + "'}\n"
	d := config.Parse("t.yaml", []byte(src), config.Options{})
	if len(d.Findings()) > 0 {
		t.Fatal(ex, d.Findings())
	}
	p, err := d.Decode()
	if err != nil {
		t.Fatal(ex, err)
	}
	prog, problems := Compile(Options{Pipeline: "p", Entity: "e", Path: "/entities/e", Fields: p.Entities[0].Fields,
		PrimaryKey: []string{"id"}, OnInvalid: Warn, Timezone: time.UTC, Region: "US"})
	if prog == nil || !prog.usesRaw {
		t.Fatalf("%s: %+v", ex, problems)
	}
	return prog
}

// runRaw is one record's output as text.
func runRaw(prog *Program, rec string) string {
	pr := prog.NewProcessor(Context{SyncStarted: time.Unix(0, 0).UTC()})
	out := Output{Values: make([]any, len(prog.Fields()))}
	pr.Process(source.Record{JSON: rec}, &out)
	return fmt.Sprintf("%#v outcome=%v err=%v reasons=%v valid=%d proc=%d", out.Values, out.Outcome, out.Err, out.Reasons, out.ValidationErrors, out.ProcessingErrors)
}

// BenchmarkRecordPathRaw is BenchmarkRecordPath's record with one more
// expression, over raw: "paths" looks up only raw.properties.hs_object_id
// and raw.archived; "whole" decodes the whole record with encoding/json
// (what every record cost before).
func BenchmarkRecordPathRaw(b *testing.B) {
	src := `version: 1
name: hubspot
source: {type: http}
entities:
  contacts:
    primary_key: id
    fields:
      id: id
      email: {path: properties.email, type: email, validate: [email]}
      phone: {path: properties.phone, type: phone, validate: [phone]}
      first_name: {path: properties.firstname, validate: [{max_length: 100}]}
      last_name: properties.lastname
      company: properties.company
      state: {path: properties.state, validate: [state]}
      created_at: {path: createdAt, type: datetime}
      updated_at: {path: updatedAt, type: datetime}
      archived: {path: archived, type: boolean}
      full_name: {expr: 'trim(concat(first_name, " ", last_name))'}
      domain: {expr: 'email_domain(email)'}
      object_id: {expr: 'raw?.archived == true ? "" : string(raw?.properties?.hs_object_id ?? "")'}
`
	d := config.Parse("t.yaml", []byte(src), config.Options{})
	p, err := d.Decode()
	if err != nil {
		b.Fatal(err)
	}
	prog, problems := Compile(Options{Pipeline: "hubspot", Entity: "contacts", Path: "/entities/contacts", Fields: p.Entities[0].Fields,
		PrimaryKey: []string{"id"}, OnInvalid: Warn, Timezone: time.UTC, Region: "US"})
	if prog == nil {
		b.Fatal(problems)
	}
	rec := source.Record{JSON: `{"id":"51","properties":{"createdate":"2024-01-04T19:25:11.540Z","email":"bh@hubspot.com","firstname":"Brian","lastname":"Halligan","phone":"+1 (617) 555-0134","company":"HubSpot","state":"MA","hs_object_id":"51","lastmodifieddate":"2024-03-01T10:15:00.000Z"},"createdAt":"2024-01-04T19:25:11.540Z","updatedAt":"2024-03-01T10:15:00.000Z","archived":false}`}
	whole := *prog
	whole.raw = &jsonpick.Set{Name: "raw", Whole: true}
	for _, c := range []struct {
		name string
		prog *Program
	}{{"paths", prog}, {"whole", &whole}} {
		b.Run(c.name, func(b *testing.B) {
			pr := c.prog.NewProcessor(Context{SyncStarted: time.Now()})
			out := Output{Values: make([]any, len(c.prog.Fields()))}
			pr.Process(rec, &out)
			if out.Outcome != Keep || out.ValidationErrors+out.ProcessingErrors > 0 || out.Values[len(out.Values)-1] != "51" {
				b.Fatalf("benchmark record does not pass cleanly: %+v", out)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pr.Process(rec, &out)
			}
		})
	}
}
