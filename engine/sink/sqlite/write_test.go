package sqlite

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

func TestWriteCounts(t *testing.T) {
	d, _ := openTemp(t)
	tb := contacts()
	mustPrepare(t, d, tb)
	steps := []struct {
		name  string
		rows  []sink.Row
		want  sink.Result
		after []string // the table after the step
	}{
		{"fresh", []sink.Row{row("1", "Ann", int64(1)), row("2", "Bob", int64(2)), row("3", "Cy", nil)},
			sink.Result{Created: 3}, []string{"1|Ann|1", "2|Bob|2", "3|Cy|NULL"}},
		{"rerun unchanged", []sink.Row{row("1", "Ann", int64(1)), row("2", "Bob", int64(2)), row("3", "Cy", nil)},
			sink.Result{Unchanged: 3}, []string{"1|Ann|1", "2|Bob|2", "3|Cy|NULL"}},
		{"null-safe changes", []sink.Row{row("1", "Ann", nil), row("2", "Bob", int64(2)), row("3", "Cy", int64(0))},
			sink.Result{Updated: 2, Unchanged: 1}, []string{"1|Ann|NULL", "2|Bob|2", "3|Cy|0"}},
		{"in-batch duplicates of a new key count once, last wins", []sink.Row{row("4", "Di", int64(1)), row("4", "Dee", int64(2)), row("2", "Bob", int64(2))},
			sink.Result{Created: 1, Unchanged: 1}, []string{"1|Ann|NULL", "2|Bob|2", "3|Cy|0", "4|Dee|2"}},
		{"duplicates of an existing key: last equals stored", []sink.Row{row("1", "Zed", int64(9)), row("1", "Ann", nil)},
			sink.Result{Unchanged: 1}, []string{"1|Ann|NULL", "2|Bob|2", "3|Cy|0", "4|Dee|2"}},
		{"duplicates of an existing key: last differs", []sink.Row{row("1", "Ann", nil), row("1", "Ann", int64(3))},
			sink.Result{Updated: 1}, []string{"1|Ann|3", "2|Bob|2", "3|Cy|0", "4|Dee|2"}},
	}
	for i, st := range steps {
		res := mustWrite(t, d, &sink.Batch{SyncID: int64(i + 1), Table: tb, Rows: st.rows})
		if res != st.want {
			t.Errorf("%s: got %+v, want %+v", st.name, res, st.want)
		}
		equal(t, st.name, dump(t, d, "SELECT id, name, score FROM contacts ORDER BY id"), st.after)
	}
	// _sync_id moves only when a row changes.
	equal(t, "sync ids", dump(t, d, "SELECT id, _sync_id FROM contacts ORDER BY id"), []string{"1|6", "2|1", "3|3", "4|4"})
}

func TestWriteCountsWithRaw(t *testing.T) {
	d, _ := openTemp(t)
	tb := contacts()
	tb.KeepRaw = true
	mustPrepare(t, d, tb)
	mustWrite(t, d, &sink.Batch{Table: tb, Rows: []sink.Row{{Values: []any{"1", "Ann", nil}, Raw: `{"id":"1","x":1}`}}})
	res := mustWrite(t, d, &sink.Batch{Table: tb, Rows: []sink.Row{{Values: []any{"1", "Ann", nil}, Raw: `{"id":"1","x":2}`}}})
	if res != (sink.Result{Updated: 1}) {
		t.Errorf("changed raw: %+v, want updated", res)
	}
	equal(t, "raw", dump(t, d, "SELECT _raw FROM contacts"), []string{`{"id":"1","x":2}`})
}

func TestAppend(t *testing.T) {
	d, _ := openTemp(t)
	// A declared key only names records: append never matches rows.
	tb := &sink.Table{Name: "events", Write: sink.Append, PrimaryKey: []string{"kind"}, Columns: []sink.Column{{Name: "kind", Type: value.String}}}
	mustPrepare(t, d, tb)
	for range 2 {
		if res := mustWrite(t, d, &sink.Batch{Table: tb, Rows: []sink.Row{row("a"), row("a")}}); res.Created != 2 {
			t.Errorf("append: %+v", res)
		}
	}
	equal(t, "rows", dump(t, d, "SELECT count(*) FROM events"), []string{"4"})
}

// TestBatchIsAtomic: a row that fails leaves neither rows, rejects nor
// checkpoint of its batch.
func TestBatchIsAtomic(t *testing.T) {
	d, _ := openTemp(t)
	tb := contacts()
	mustPrepare(t, d, tb)
	mustWrite(t, d, &sink.Batch{Table: tb, Rows: []sink.Row{row("1", "Ann", nil)},
		Checkpoint: &sink.Checkpoint{Watermark: "2024-01-01T00:00:00Z"}})
	_, err := d.Write(ctx, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tb,
		Rows:       []sink.Row{row("1", "Ann v2", nil), row("2", "Bob", nil), row(nil, "no key", nil), row("3", "Cy", nil)},
		Rejects:    []sink.Reject{{RecordID: "9", Reasons: []string{"bad email"}}},
		Checkpoint: &sink.Checkpoint{Watermark: "2024-02-01T00:00:00Z"}})
	for _, want := range []string{`write "contacts" to table "contacts"`, "row 3 (id=null)", "NOT NULL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to contain %q", err, want)
		}
	}
	equal(t, "rows", dump(t, d, "SELECT id, name FROM contacts ORDER BY id"), []string{"1|Ann"})
	equal(t, "rejects", dump(t, d, "SELECT count(*) FROM crmsync_rejects"), []string{"0"})
	cp, err := d.Checkpoint(ctx, "crm", "contacts")
	if err != nil || cp.Watermark != "2024-01-01T00:00:00Z" {
		t.Errorf("checkpoint after a failed batch: %+v %v", cp, err)
	}
	// The handle is still usable.
	if res := mustWrite(t, d, &sink.Batch{Table: tb, Rows: []sink.Row{row("2", "Bob", nil)}}); res.Created != 1 {
		t.Errorf("after failure: %+v", res)
	}
}

func TestRejectsAndCheckpoint(t *testing.T) {
	d, _ := openTemp(t)
	tb := contacts()
	mustPrepare(t, d, tb)
	if cp, err := d.Checkpoint(ctx, "crm", "contacts"); err != nil || cp != (sink.Checkpoint{}) {
		t.Fatalf("no checkpoint yet: %+v %v", cp, err)
	}
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	mustWrite(t, d, &sink.Batch{SyncID: 7, Pipeline: "crm", Entity: "contacts", Table: tb,
		Rows:       []sink.Row{row("1", "Ann", nil)},
		Rejects:    []sink.Reject{{RecordID: "a", Reasons: []string{"email: invalid", "phone: too short"}, Raw: `{"id":"a"}`}},
		Checkpoint: &sink.Checkpoint{Watermark: "w1", Resume: "cursor-1", UpdatedAt: at}})
	mustWrite(t, d, &sink.Batch{SyncID: 8, Pipeline: "crm", Entity: "deals",
		Rejects:    []sink.Reject{{RecordID: "b", Reasons: []string{"amount: not a decimal"}}},
		Checkpoint: &sink.Checkpoint{Watermark: "w2"}})
	mustWrite(t, d, &sink.Batch{SyncID: 9, Pipeline: "crm", Entity: "contacts",
		Rejects: []sink.Reject{{RecordID: "c", Reasons: []string{"x"}}}})

	cp, err := d.Checkpoint(ctx, "crm", "contacts")
	if err != nil || cp.Watermark != "w1" || cp.Resume != "cursor-1" || !cp.UpdatedAt.Equal(at) {
		t.Errorf("checkpoint: %+v %v", cp, err)
	}
	if err := d.ResetCheckpoint(ctx, "crm", "contacts"); err != nil {
		t.Fatal(err)
	}
	if cp, _ := d.Checkpoint(ctx, "crm", "contacts"); cp.Watermark != "" {
		t.Errorf("after reset: %+v", cp)
	}
	if cp, _ := d.Checkpoint(ctx, "crm", "deals"); cp.Watermark != "w2" || cp.UpdatedAt.IsZero() {
		t.Errorf("deals checkpoint: %+v", cp)
	}

	all, err := d.Rejects(ctx, sink.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range all {
		ids = append(ids, r.RecordID)
	}
	equal(t, "newest first", ids, []string{"c", "b", "a"})
	got, err := d.Rejects(ctx, sink.Filter{Pipeline: "crm", Entity: "contacts", Limit: 5})
	if err != nil || len(got) != 2 {
		t.Fatalf("filtered: %+v %v", got, err)
	}
	a := got[1]
	if a.RecordID != "a" || strings.Join(a.Reasons, ";") != "email: invalid;phone: too short" || a.Raw != `{"id":"a"}` || a.SyncID != 7 || a.CreatedAt.IsZero() || a.Entity != "contacts" {
		t.Errorf("stored reject: %+v", a)
	}
	if got, _ := d.Rejects(ctx, sink.Filter{Limit: 1}); len(got) != 1 || got[0].RecordID != "c" {
		t.Errorf("limit 1: %+v", got)
	}
}

func TestChildRowsReplaced(t *testing.T) {
	d, _ := openTemp(t)
	parent := contacts()
	child := &sink.Table{Name: "contact_tags", ParentKey: []string{"contact_id"},
		Columns: []sink.Column{{Name: "contact_id", Type: value.String}, {Name: "tag", Type: value.String}}}
	mustPrepare(t, d, parent, child)
	mustWrite(t, d, &sink.Batch{Table: parent,
		Rows: []sink.Row{row("1", "Ann", nil), row("2", "Bob", nil), row("3", "Cy", nil)},
		Children: []sink.ChildRows{{Table: child, Parents: [][]any{{"1"}, {"2"}, {"3"}},
			Rows: []sink.Row{row("1", "a"), row("1", "b"), row("2", "x"), row("3", "q")}}}})
	// Contact 1 now has one tag, 3 has none; 2 is not in the batch.
	mustWrite(t, d, &sink.Batch{Table: parent,
		Rows:     []sink.Row{row("1", "Ann", nil), row("3", "Cy", nil)},
		Children: []sink.ChildRows{{Table: child, Parents: [][]any{{"1"}, {"3"}}, Rows: []sink.Row{row("1", "c")}}}})
	equal(t, "children", dump(t, d, "SELECT contact_id, tag FROM contact_tags ORDER BY contact_id, tag"), []string{"1|c", "2|x"})

	// A failing child row undoes the parents' rows too.
	_, err := d.Write(ctx, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: parent,
		Rows:     []sink.Row{row("5", "Eve", nil)},
		Children: []sink.ChildRows{{Table: child, Parents: [][]any{{"5"}}, Rows: []sink.Row{row("5", int64(1))}}}})
	if err == nil || !strings.Contains(err.Error(), `child table "contact_tags"`) || !strings.Contains(err.Error(), `column "tag"`) {
		t.Errorf("bad child: %v", err)
	}
	equal(t, "no parent 5", dump(t, d, "SELECT count(*) FROM contacts WHERE id = '5'"), []string{"0"})
}
