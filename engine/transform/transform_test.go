package transform_test

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/shopspring/decimal"
)

var update = flag.Bool("update", false, "rewrite golden files")

// compile builds a Program from the fields: block of an inline YAML entity.
func compile(t testing.TB, fieldsYAML, filter string, policy transform.Policy, strict bool) *transform.Program {
	t.Helper()
	src := "version: 1\nname: hubspot\nsource: {type: http}\nentities:\n  contacts:\n    primary_key: id\n    fields:\n" + fieldsYAML
	d := config.Parse("t.yaml", []byte(src), config.Options{})
	if len(d.Findings()) > 0 {
		t.Fatal(d.Findings())
	}
	p, err := d.Decode()
	if err != nil {
		t.Fatal(err)
	}
	e := p.Entities[0]
	prog, problems := transform.Compile(transform.Options{Pipeline: "hubspot", Entity: "contacts", Path: "/entities/contacts",
		Fields: e.Fields, Filter: filter, PrimaryKey: []string{"id"}, OnInvalid: policy, Strict: strict, Timezone: time.UTC, Region: "US"})
	if prog == nil {
		t.Fatalf("compile: %+v", problems)
	}
	return prog
}

// logLines captures the message of every log record.
type logLines struct{ bytes.Buffer }

func newLogger(w *logLines) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

func process(t testing.TB, prog *transform.Program, log *slog.Logger, js string) transform.Output {
	pr := prog.NewProcessor(transform.Context{SyncStarted: time.Unix(0, 0).UTC(), Logger: log})
	out := transform.Output{Values: make([]any, len(prog.Fields()))}
	pr.Process(source.Record{JSON: js}, &out)
	return out
}

const contactFields = `      id: id
      email: {path: properties.email, type: email, validate: [email]}
      phone: {path: properties.phone, type: phone}
      first_name: properties.firstname
      last_name: properties.lastname
      full_name: {expr: 'trim(concat(first_name, " ", last_name))'}
      state: {path: properties.state, validate: [state]}
      amount: {path: properties.amount, type: decimal}
      updated_at: {path: updatedAt, type: datetime}
`

func TestProcessMapsAndConverts(t *testing.T) {
	prog := compile(t, contactFields, "", transform.Warn, false)
	var logs logLines
	out := process(t, prog, newLogger(&logs), `{"id":"12345","properties":{"email":" Ann@Example.COM ","phone":"+1 (555) 123-4567",
		"firstname":"Ann","lastname":"O'Neil","state":"new york","amount":"$1,250.50"},"updatedAt":"2024-03-01T12:00:00.000Z"}`)
	if out.Outcome != transform.Keep {
		t.Fatalf("outcome %v, reasons %v", out.Outcome, out.Reasons)
	}
	want := []any{"12345", "Ann@example.com", "+15551234567", "Ann", "O'Neil", "Ann O'Neil", "NY",
		decimal.RequireFromString("1250.50"), time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)}
	for i, w := range want {
		got := out.Values[i]
		if d, ok := w.(decimal.Decimal); ok {
			if gd, ok := got.(decimal.Decimal); !ok || !gd.Equal(d) {
				t.Errorf("field %d: got %v, want %v", i, got, w)
			}
			continue
		}
		if tm, ok := w.(time.Time); ok {
			if gt, ok := got.(time.Time); !ok || !gt.Equal(tm) {
				t.Errorf("field %d: got %v, want %v", i, got, w)
			}
			continue
		}
		if got != w {
			t.Errorf("field %d (%s): got %#v, want %#v", i, prog.Fields()[i].Name, got, w)
		}
	}
	if logs.Len() != 0 {
		t.Errorf("unexpected log lines:\n%s", logs.String())
	}
}

// TestPolicies checks what each on_invalid policy does with one bad value.
func TestPolicies(t *testing.T) {
	rec := `{"id":"7","properties":{"email":"not-an-email"}}`
	cases := []struct {
		policy  transform.Policy
		strict  bool
		outcome transform.Outcome
		email   any
	}{
		{transform.Warn, false, transform.Keep, "not-an-email"},
		{transform.Null, false, transform.Keep, nil},
		{transform.Reject, false, transform.Rejected, "not-an-email"},
		{transform.Fail, false, transform.Failed, "not-an-email"},
		{transform.Warn, true, transform.Rejected, "not-an-email"}, // STRICT_VALIDATION turns warn into reject
	}
	for _, c := range cases {
		prog := compile(t, "      id: id\n      email: {path: properties.email, validate: [email]}\n", "", c.policy, c.strict)
		var logs logLines
		out := process(t, prog, newLogger(&logs), rec)
		if out.Outcome != c.outcome || out.Values[1] != c.email {
			t.Errorf("%v strict=%v: outcome %v value %v, want %v %v", c.policy, c.strict, out.Outcome, out.Values[1], c.outcome, c.email)
		}
		if out.ValidationErrors != 1 || len(out.Reasons) != 1 {
			t.Errorf("%v: %d validation errors, reasons %v", c.policy, out.ValidationErrors, out.Reasons)
		}
		if c.outcome == transform.Failed && out.Err == nil {
			t.Errorf("fail policy without an error")
		}
	}
}

func TestFilterAndDefaults(t *testing.T) {
	prog := compile(t, "      id: id\n      email: properties.email\n      score: {path: score, type: integer, default: 5}\n", "email != nil", transform.Warn, false)
	if out := process(t, prog, nil, `{"id":"1"}`); out.Outcome != transform.Filtered {
		t.Fatalf("record without email not filtered: %v", out.Outcome)
	}
	out := process(t, prog, nil, `{"id":"1","properties":{"email":"a@b.co"}}`)
	if out.Outcome != transform.Keep || out.Values[2] != int64(5) {
		t.Fatalf("default not applied: %v %#v", out.Outcome, out.Values)
	}
}

// TestExprRuntimeErrorIsProcessingError: a failing expression is a
// processing error naming the record, never a crash.
func TestExprRuntimeErrorIsProcessingError(t *testing.T) {
	prog := compile(t, "      id: id\n      a: {path: a, type: integer}\n      b: {path: b, type: integer}\n      ratio: {expr: 'a / b', type: float}\n      m: {expr: 'raw.x.y.z', type: string}\n", "", transform.Warn, false)
	var logs logLines
	out := process(t, prog, newLogger(&logs), `{"id":"9","a":1}`)
	if out.ProcessingErrors == 0 || out.Outcome != transform.Keep {
		t.Fatalf("want a processing error and the record kept, got %+v", out)
	}
	if !strings.Contains(logs.String(), "for hubspot 9") {
		t.Fatalf("log does not name the record: %s", logs.String())
	}
}

// TestLogLinesGolden: the blueprint's log lines, word for word.
func TestLogLinesGolden(t *testing.T) {
	fields := `      id: id
      email: {path: properties.email, validate: [email]}
      count: {path: properties.count, type: integer}
      when: {path: properties.when, type: datetime}
      state: {path: properties.state, validate: [state]}
`
	records := []string{
		`{"id":"12345","properties":{"email":"x","count":"12.5","when":"2024-02-30","state":"ZZ"}}`,
		`{"properties":{"email":"bob@@example.com"}}`,
	}
	var logs logLines
	for _, policy := range []transform.Policy{transform.Warn, transform.Reject} {
		prog := compile(t, fields, "", policy, false)
		fmt.Fprintf(&logs, "# on_invalid: %s\n", policy)
		for _, r := range records {
			out := process(t, prog, newLogger(&logs), r)
			fmt.Fprintf(&logs, "# outcome %d, reasons: %q\n", out.Outcome, out.Reasons)
		}
	}
	golden := filepath.Join("testdata", "loglines.golden")
	if *update {
		os.WriteFile(golden, logs.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if logs.String() != string(want) {
		t.Errorf("log lines differ\n--- got\n%s--- want\n%s", logs.String(), want)
	}
}

// BenchmarkRecordPath: a 10-field HubSpot-style contact, 3 expr
// transforms, 4 validators, 1 filter. Run with GOMAXPROCS=1.
func BenchmarkRecordPath(b *testing.B) {
	fields := `      id: id
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
      is_new: {expr: 'created_at == updated_at'}
`
	prog := compile(b, fields, `email != nil || phone != nil`, transform.Warn, false)
	rec := source.Record{JSON: `{"id":"51","properties":{"createdate":"2024-01-04T19:25:11.540Z","email":"bh@hubspot.com","firstname":"Brian","lastname":"Halligan","phone":"+1 (617) 555-0134","company":"HubSpot","state":"MA","hs_object_id":"51","lastmodifieddate":"2024-03-01T10:15:00.000Z"},"createdAt":"2024-01-04T19:25:11.540Z","updatedAt":"2024-03-01T10:15:00.000Z","archived":false}`}
	pr := prog.NewProcessor(transform.Context{SyncStarted: time.Now(), Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	out := transform.Output{Values: make([]any, len(prog.Fields()))}
	pr.Process(rec, &out)
	if out.Outcome != transform.Keep || out.ValidationErrors+out.ProcessingErrors > 0 {
		b.Fatalf("benchmark record does not pass cleanly: %+v", out)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		pr.Process(rec, &out)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

// TestTextDefaultKeepsItsDigits: YAML reads 02134 as a number; a text
// field's default keeps it as written.
func TestTextDefaultKeepsItsDigits(t *testing.T) {
	prog := compile(t, "      id: id\n      zip: {path: zip, default: 02134}\n      n: {path: n, type: integer, default: 007}\n", "", transform.Warn, false)
	out := process(t, prog, nil, `{"id":"1"}`)
	if out.Values[1] != "02134" || out.Values[2] != int64(7) {
		t.Fatalf("defaults: %#v", out.Values)
	}
}

// TestLineLimit: after the first 10 per field and sync, per-record lines
// are counted, not printed; the line that reaches the limit says so.
func TestLineLimit(t *testing.T) {
	prog := compile(t, "      id: id\n      email: {path: properties.email, validate: [email]}\n      state: {path: properties.state, validate: [state]}\n", "", transform.Warn, false)
	var logs logLines
	pr := prog.NewProcessor(transform.Context{SyncStarted: time.Unix(0, 0).UTC(), Logger: newLogger(&logs)})
	out := transform.Output{Values: make([]any, len(prog.Fields()))}
	for i := 0; i < 25; i++ {
		state := "CO"
		if i < 3 {
			state = "ZZ"
		}
		pr.Process(source.Record{JSON: fmt.Sprintf(`{"id":"%d","properties":{"email":"x%d","state":"%s"}}`, i, i, state)}, &out)
	}
	if n := strings.Count(logs.String(), "Validation warning for field 'email'"); n != 10 {
		t.Errorf("%d email warnings printed, want 10:\n%s", n, logs.String())
	}
	if n := strings.Count(logs.String(), "Validation warning for field 'state'"); n != 3 {
		t.Errorf("%d state warnings printed, want 3", n)
	}
	if !strings.Contains(logs.String(), "10 lines for field 'email' of hubspot contacts: further ones in this sync are counted, not printed") {
		t.Errorf("no notice at the limit:\n%s", logs.String())
	}
	all, extra := pr.LineCounts()
	if all["email"] != 25 || extra["email"] != 15 || all["state"] != 3 || extra["state"] != 0 {
		t.Errorf("counts %v, not printed %v", all, extra)
	}
}

// TestDeferredLinesReplay: a processor with DeferLines prints and counts
// nothing; Replay on the sync's processor, in record order, prints the
// same lines and keeps the same counts as one processor would — also for
// records split over two deferring processors (two workers).
func TestDeferredLinesReplay(t *testing.T) {
	prog := compile(t, "      id: {path: id, required: true}\n      email: {path: properties.email, validate: [email]}\n      n: {path: n, type: integer, on_invalid: reject}\n", "", transform.Warn, false)
	recs := make([]source.Record, 30)
	for i := range recs {
		id := fmt.Sprintf(`"%d"`, i)
		if i%7 == 0 {
			id = `""` // a blank key: a reject printed uncounted
		}
		recs[i] = source.Record{JSON: fmt.Sprintf(`{"id":%s,"n":"%d%s","properties":{"email":"x%d"}}`, id, i, strings.Repeat("x", i%3/2), i)}
	}
	ctx := transform.Context{SyncStarted: time.Unix(0, 0).UTC()}
	var want logLines
	ctx.Logger = newLogger(&want)
	one := prog.NewProcessor(ctx)
	out := transform.Output{Values: make([]any, len(prog.Fields()))}
	for _, r := range recs {
		one.Process(r, &out)
	}

	var got, stray logLines
	ctx.Logger = newLogger(&got)
	sync := prog.NewProcessor(ctx)
	ctx.Logger, ctx.DeferLines = newLogger(&stray), true
	workers := []*transform.Processor{prog.NewProcessor(ctx), prog.NewProcessor(ctx)}
	outs := make([]transform.Output, len(recs))
	for i, r := range recs {
		outs[i].Values = make([]any, len(prog.Fields()))
		workers[i/8%2].Process(r, &outs[i])
	}
	if stray.Len() > 0 {
		t.Fatalf("a deferring processor printed:\n%s", stray.String())
	}
	for i := range outs {
		sync.Replay(&outs[i])
	}
	for _, w := range []string{"Failed to parse integer value", "primary key id is blank", "further ones in this sync are counted"} {
		if !strings.Contains(want.String(), w) {
			t.Fatalf("the records should make a line saying %q:\n%s", w, want.String())
		}
	}
	if got.String() != want.String() {
		t.Errorf("replayed lines differ:\n%s\nwant:\n%s", got.String(), want.String())
	}
	wa, wx := one.LineCounts()
	ga, gx := sync.LineCounts()
	if fmt.Sprint(wa, wx) != fmt.Sprint(ga, gx) || wa["email"] != 30 || wx["email"] != 20 {
		t.Errorf("counts %v %v, want %v %v", ga, gx, wa, wx)
	}
}
