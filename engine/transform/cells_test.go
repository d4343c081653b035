package transform

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// cellRecords are flat records as an SQL source writes them: every JSON
// type, escapes, NULLs, text that does not convert, big numbers.
var cellRecords = []string{
	`{"id":1,"name":"Ann","amount":1250.50,"active":1,"at":"2024-03-10T07:30:00Z","day":"2024-03-10","note":"a\r\n\"b\" 😀","phone":"(303) 555-0134","cc":"US","tags":"a,b","blob":"{\"k\":1}"}`,
	`{"id":2,"name":null,"amount":null,"active":null,"at":null,"day":null,"note":null,"phone":null,"cc":null,"tags":null,"blob":null}`,
	`{"id":3,"name":"","amount":"NaN","active":"t","at":"not a time","day":"2024-02-30","note":"caf\u00e9 \ufffd","phone":"12","cc":"GB","tags":"","blob":"[1,2"}`,
	`{"id":"0004","name":"  spaced  ","amount":12345678901234567890.123456789,"active":true,"at":"2024-11-03T01:30:00.123456Z","day":"0000-00-00","note":"tab\tnul\u0000","phone":"+44 20 7946 0958","cc":null,"tags":"x","blob":"null"}`,
	`{"id":-5,"name":"N/A","amount":-0.01,"active":false,"at":"2024-01-01 10:00:00","day":"2024-12-31","note":"\\u00e9","phone":null,"cc":"US","tags":"p, q","blob":"{}"}`,
	`{"id":9223372036854775808,"name":"x","amount":1e3,"active":2,"at":"2024-01-01T00:00:00Z","day":"2024-01-01","note":"x","phone":"x","cc":"x","tags":"x","blob":"x"}`,
}

// cellFields are field sets over those records: each column with the
// types an SQL column is read as, fallbacks, region_from, expressions,
// a gjson path, a key no record has, and raw.
var cellFields = []string{
	`id: {type: integer}
      name: {type: string}
      amount: {type: decimal}
      active: {type: boolean}
      at: {type: datetime}
      day: {type: date}
      note: {type: string}
      phone: {type: phone, region_from: cc}
      tags: {type: "string[]"}
      blob: {type: json}`,
	`id: {type: string}
      name: {type: integer}
      amount: {type: float}
      active: {type: string}
      at: {type: date}
      day: {type: datetime}
      note: {type: json}
      phone: {type: email}
      tags: {type: url}
      blob: {type: string}`,
	`id: {type: decimal}
      label: {path: [name, note], type: string}
      missing: {path: nope, type: string}
      shout: {expr: 'upper(label ?? "")'}
      amt: {path: amount, type: string, validate: [{min_length: 2}]}
      first: {path: 'tags', type: string, default: none}
      cnt: {path: '@this|@keys|#', type: integer}
      rawname: {expr: 'raw?.name ?? "nil"'}`,
}

// indexed is rec with the Keys and Cells an SQL source would attach.
func indexed(t testing.TB, js string) source.Record {
	t.Helper()
	rec := source.Record{JSON: js, Keys: &source.Keys{}}
	gjson.Parse(js).ForEach(func(k, v gjson.Result) bool {
		rec.Keys.Names = append(rec.Keys.Names, k.Str)
		rec.Cells = append(rec.Cells, source.Cell{Start: uint32(v.Index), End: uint32(v.Index + len(v.Raw))})
		return true
	})
	if len(rec.Cells) == 0 {
		t.Fatalf("no keys in %s", js)
	}
	return rec
}

func compileFields(t testing.TB, fields string) *Program {
	t.Helper()
	src := "version: 1\nname: p\nsource: {type: http}\nentities:\n  e:\n    primary_key: id\n    fields:\n      " + fields + "\n"
	d := config.Parse("t.yaml", []byte(src), config.Options{})
	if len(d.Findings()) > 0 {
		t.Fatal(fields, d.Findings())
	}
	p, err := d.Decode()
	if err != nil {
		t.Fatal(fields, err)
	}
	prog, problems := Compile(Options{Pipeline: "p", Entity: "e", Path: "/entities/e", Fields: p.Entities[0].Fields,
		PrimaryKey: []string{"id"}, OnInvalid: Warn, Timezone: time.UTC, Region: "US"})
	if prog == nil {
		t.Fatalf("%s: %+v", fields, problems)
	}
	return prog
}

// outcome prints all of an Output, types included.
func outcome(out *Output) string {
	var b strings.Builder
	for i, v := range out.Values {
		fmt.Fprintf(&b, "%d: %T %#v\n", i, v, v)
	}
	fmt.Fprintf(&b, "outcome %d id %q errors %d/%d reasons %q err %v", out.Outcome, out.ID, out.ValidationErrors, out.ProcessingErrors, out.Reasons, out.Err)
	return b.String()
}

// TestCellsMatchJSON: a record read from its cells gives the output
// (values and their types, outcome, counts, reasons) the JSON path gives,
// for every field set and record.
func TestCellsMatchJSON(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for fi, fields := range cellFields {
		prog := compileFields(t, fields)
		cells := prog.NewProcessor(Context{Logger: quiet})
		plain := prog.NewProcessor(Context{Logger: quiet})
		for _, js := range cellRecords {
			rec := indexed(t, js)
			got := Output{Values: make([]any, len(prog.Fields()))}
			want := Output{Values: make([]any, len(prog.Fields()))}
			cells.Process(rec, &got)
			if !cells.cells.ok || cells.cells.keys != rec.Keys {
				t.Fatalf("field set %d: the cells were not read", fi)
			}
			plain.Process(source.Record{JSON: js}, &want)
			if g, w := outcome(&got), outcome(&want); g != w {
				t.Errorf("field set %d, %s:\ncells: %s\n JSON: %s", fi, js, g, w)
			}
		}
	}
}

// TestCellsFallBack: what the cells cannot serve is read from the JSON:
// a nested path, cells that do not match the keys, an embedded object.
func TestCellsFallBack(t *testing.T) {
	prog := compileFields(t, `id: {type: integer}
      city: {path: addr.city, type: string}`)
	pr := prog.NewProcessor(Context{})
	out := Output{Values: make([]any, 2)}
	pr.Process(indexed(t, `{"id":7,"addr":{"city":"Denver"}}`), &out)
	if pr.cells.ok || out.Values[0] != int64(7) || out.Values[1] != "Denver" {
		t.Errorf("nested path: plan ok %v, values %v", pr.cells.ok, out.Values)
	}

	prog = compileFields(t, `id: {type: integer}
      obj: {type: json}`)
	pr = prog.NewProcessor(Context{})
	out = Output{Values: make([]any, 2)}
	rec := indexed(t, `{"id":8,"obj":{"a":1}}`)
	pr.Process(rec, &out)
	if out.Values[0] != int64(8) || fmt.Sprint(out.Values[1]) != `[123 34 97 34 58 49 125]` {
		t.Errorf("embedded object: values %v", out.Values)
	}
	rec.Cells = rec.Cells[:1] // fewer cells than keys: not trusted
	pr.Process(rec, &out)
	if out.Values[0] != int64(8) {
		t.Errorf("short cells: values %v", out.Values)
	}
	rec = indexed(t, `{"id":9,"obj":null}`)
	rec.Cells[0].End = 999 // past the record: the JSON path instead
	pr.Process(rec, &out)
	if out.Values[0] != int64(9) || out.Values[1] != nil {
		t.Errorf("bad cell: values %v", out.Values)
	}
}

// BenchmarkCells processes a 42-column job row as an SQL source writes
// it, read from its cells and from its JSON, in the same run.
func BenchmarkCells(b *testing.B) {
	var js, fields strings.Builder
	js.WriteString("{")
	for i := 0; i < 42; i++ {
		if i > 0 {
			js.WriteString(",")
		}
		var v, typ string
		switch i % 6 {
		case 0:
			v, typ = fmt.Sprint(100000+i*37), "integer"
		case 1:
			v, typ = fmt.Sprintf("%d.%02d", 1000+i, i), "decimal"
		case 2:
			v, typ = `"2024-01-01T10:00:00Z"`, "datetime"
		case 3:
			v, typ = `"2020-01-15"`, "date"
		case 4:
			v, typ = `"Roof replacement 4711"`, "string"
		default:
			v, typ = "null", "string"
		}
		fmt.Fprintf(&js, `"col_%02d":%s`, i, v)
		fmt.Fprintf(&fields, "col_%02d: {type: %s}\n      ", i, typ)
	}
	js.WriteString("}")
	fs := strings.Replace(fields.String(), "col_00: {type: integer}", "id: {path: col_00, type: integer}", 1)
	prog := compileFields(b, strings.TrimSpace(fs))
	rec := indexed(b, js.String())
	for _, c := range []struct {
		name string
		rec  source.Record
	}{{"cells", rec}, {"json", source.Record{JSON: rec.JSON}}} {
		b.Run(c.name, func(b *testing.B) {
			pr := prog.NewProcessor(Context{})
			out := Output{Values: make([]any, len(prog.Fields()))}
			pr.Process(c.rec, &out)
			if out.Outcome != Keep || out.ValidationErrors+out.ProcessingErrors > 0 {
				b.Fatalf("benchmark record does not pass cleanly: %+v", out)
			}
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				pr.Process(c.rec, &out)
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's user and system time so far: on a shared
// machine a steadier measure than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
