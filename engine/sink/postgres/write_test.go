package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

func TestWriteCounts(t *testing.T) {
	d, admin := openTest(t)
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	dec := decimal.RequireFromString
	steps := []struct {
		name  string
		rows  []sink.Row
		want  sink.Result
		rows2 int // rows in the table afterwards
	}{
		{"fresh", []sink.Row{contact(1, "a"), contact(2, "b"), contact(3, "c")}, sink.Result{Created: 3}, 3},
		{"rerun", []sink.Row{contact(1, "a"), contact(2, "b"), contact(3, "c")}, sink.Result{Unchanged: 3}, 3},
		{"mixed", []sink.Row{contact(1, "a"), contact(2, "B"), contact(4, "d")}, sink.Result{Created: 1, Updated: 1, Unchanged: 1}, 4},
		// Duplicates inside a batch: the last one wins and counts once.
		{"dup new", []sink.Row{contact(5, "x"), contact(5, "y"), contact(5, "e")}, sink.Result{Created: 1}, 5},
		{"dup existing", []sink.Row{contact(1, "z"), contact(6, "f"), contact(1, "a")}, sink.Result{Created: 1, Unchanged: 1}, 6},
		{"dup changed", []sink.Row{contact(2, "b"), contact(2, "b2")}, sink.Result{Updated: 1}, 6},
		// Decimal scale is part of the value: 1.50 then 1.5 is a change.
		{"scale", []sink.Row{{Values: []any{int64(7), nil, dec("1.50")}}}, sink.Result{Created: 1}, 7},
		{"scale again", []sink.Row{{Values: []any{int64(7), nil, dec("1.50")}}}, sink.Result{Unchanged: 1}, 7},
		{"rescaled", []sink.Row{{Values: []any{int64(7), nil, dec("1.5")}}}, sink.Result{Updated: 1}, 7},
		{"empty", nil, sink.Result{}, 7},
	}
	for i, s := range steps {
		got := mustWrite(t, d, &sink.Batch{SyncID: int64(i + 1), Table: tbl, Rows: s.rows})
		if got != s.want {
			t.Errorf("%s: %+v, want %+v", s.name, got, s.want)
		}
		if n := count(t, admin, "SELECT count(*) FROM contacts"); n != s.rows2 {
			t.Errorf("%s: %d rows in the table, want %d", s.name, n, s.rows2)
		}
	}
	var email string
	if err := admin.QueryRow(context.Background(), "SELECT email FROM contacts WHERE id = 5").Scan(&email); err != nil || email != "e" {
		t.Errorf("duplicate key kept %q (%v), want the last row's e", email, err)
	}
	// Unchanged rows are not rewritten: their _sync_id is still the one that wrote them.
	if n := count(t, admin, "SELECT _sync_id FROM contacts WHERE id = 3"); n != 1 {
		t.Errorf("unchanged row 3 has _sync_id %d, want 1", n)
	}
	if n := count(t, admin, "SELECT _sync_id FROM contacts WHERE id = 2"); n != 6 {
		t.Errorf("changed row 2 has _sync_id %d, want 6", n)
	}
}

func TestWriteCompositeKey(t *testing.T) {
	d, admin := openTest(t)
	tbl := &sink.Table{
		Name: "lines",
		Columns: []sink.Column{
			{Name: "qty", Type: value.Integer},
			{Name: "line", Type: value.Integer},
			{Name: "order", Type: value.String},
		},
		PrimaryKey: []string{"order", "line"}, // not in column order
	}
	mustPrepare(t, d, tbl)
	row := func(order string, line, qty int64) sink.Row { return sink.Row{Values: []any{qty, line, order}} }
	r := mustWrite(t, d, &sink.Batch{Table: tbl, Rows: []sink.Row{row("A", 1, 1), row("A", 2, 1), row("B", 1, 1), row("A", 1, 5)}})
	if r != (sink.Result{Created: 3}) {
		t.Errorf("first write %+v", r)
	}
	r = mustWrite(t, d, &sink.Batch{Table: tbl, Rows: []sink.Row{row("A", 1, 5), row("B", 1, 2), row("B", 2, 1)}})
	if r != (sink.Result{Created: 1, Updated: 1, Unchanged: 1}) {
		t.Errorf("second write %+v", r)
	}
	if n := count(t, admin, `SELECT qty FROM lines WHERE "order" = 'A' AND line = 1`); n != 5 {
		t.Errorf("qty of A/1 = %d, want 5", n)
	}
}

// TestWriteAtomic: rows, child rows, rejects and checkpoint commit
// together; a batch that fails anywhere leaves none of them.
func TestWriteAtomic(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	tbl := contactsTable()
	tbl.KeepRaw = true
	mustPrepare(t, d, tbl)
	if _, err := admin.Exec(ctx, "ALTER TABLE contacts ADD CONSTRAINT score_positive CHECK (score >= 0)"); err != nil {
		t.Fatal(err)
	}
	cp := func(w string) *sink.Checkpoint { return &sink.Checkpoint{Watermark: w, Resume: "cursor-" + w} }
	rejects := []sink.Reject{{RecordID: "r1", Reasons: []string{"email: invalid"}, Raw: `{"id":"r1"}`}}
	row := func(id int64, score string, raw string) sink.Row {
		return sink.Row{Values: []any{id, "x@y.z", decimal.RequireFromString(score)}, Raw: raw}
	}
	good := &sink.Batch{SyncID: 1, Pipeline: "crm", Entity: "contacts", Table: tbl, Rejects: rejects, Checkpoint: cp("2024-01-01T00:00:00Z"),
		Rows: []sink.Row{row(1, "1", "")}}
	mustWrite(t, d, good)

	fails := []struct {
		name string
		b    *sink.Batch
		want string
	}{
		{"check constraint on a new row", &sink.Batch{Rows: []sink.Row{row(2, "1", ""), row(1, "1", ""), row(3, "-1", "")}}, "row 3 (id=3): error: new row for relation \"contacts\" violates check constraint \"score_positive\""},
		{"check constraint on a changed row", &sink.Batch{Rows: []sink.Row{row(4, "1", ""), row(1, "-5", "")}}, "score_positive"},
		{"raw that is not JSON", &sink.Batch{Rows: []sink.Row{row(6, "1", ""), row(5, "1", "{oops")}}, "row 2 (id=5): error: invalid input syntax for type json"},
	}
	for _, f := range fails {
		b := f.b
		b.SyncID, b.Pipeline, b.Entity, b.Table = 2, "crm", "contacts", tbl
		b.Rejects = []sink.Reject{{RecordID: "bad", Reasons: []string{"x"}}}
		b.Checkpoint = cp("2099-01-01T00:00:00Z")
		if _, err := d.Write(ctx, b); err == nil || !strings.Contains(strings.ToLower(err.Error()), f.want) {
			t.Errorf("%s: error %v, want one mentioning %q", f.name, err, f.want)
		}
		if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 1 {
			t.Errorf("%s: %d rows after the failed batch, want 1", f.name, n)
		}
		if n := count(t, admin, "SELECT count(*) FROM crmsync_rejects"); n != 1 {
			t.Errorf("%s: %d rejects after the failed batch, want 1", f.name, n)
		}
		if n := count(t, admin, "SELECT score::int FROM contacts WHERE id = 1"); n != 1 {
			t.Errorf("%s: row 1 changed to score %d", f.name, n)
		}
		c, err := d.Checkpoint(ctx, "crm", "contacts")
		if err != nil || c.Watermark != "2024-01-01T00:00:00Z" || c.Resume != "cursor-2024-01-01T00:00:00Z" {
			t.Errorf("%s: checkpoint %+v (%v) moved", f.name, c, err)
		}
	}

	// The pool is still healthy, and staged rows of the failed batch are gone.
	r := mustWrite(t, d, &sink.Batch{SyncID: 3, Pipeline: "crm", Entity: "contacts", Table: tbl, Rows: []sink.Row{row(1, "2", ""), row(6, "1", "")}, Checkpoint: cp("b")})
	if r != (sink.Result{Created: 1, Updated: 1}) {
		t.Errorf("write after failures: %+v", r)
	}
	if c, _ := d.Checkpoint(ctx, "crm", "contacts"); c.Watermark != "b" || c.UpdatedAt.IsZero() {
		t.Errorf("checkpoint after the good batch: %+v", c)
	}
	// A batch without a checkpoint leaves it alone.
	mustWrite(t, d, &sink.Batch{SyncID: 4, Pipeline: "crm", Entity: "contacts", Table: tbl, Rows: []sink.Row{row(7, "1", "")}})
	if c, _ := d.Checkpoint(ctx, "crm", "contacts"); c.Watermark != "b" {
		t.Errorf("checkpoint after a batch without one: %+v", c)
	}
	if c, err := d.Checkpoint(ctx, "crm", "other"); err != nil || c != (sink.Checkpoint{}) {
		t.Errorf("checkpoint of an entity never synced: %+v, %v", c, err)
	}
	if err := d.ResetCheckpoint(ctx, "crm", "contacts"); err != nil {
		t.Fatal(err)
	}
	if c, _ := d.Checkpoint(ctx, "crm", "contacts"); c.Watermark != "" {
		t.Errorf("checkpoint after reset: %+v", c)
	}
}

func TestWriteRejects(t *testing.T) {
	d, _ := openTest(t)
	ctx := context.Background()
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	mustWrite(t, d, &sink.Batch{SyncID: 1, Pipeline: "crm", Entity: "contacts", Table: tbl, Rejects: []sink.Reject{
		{RecordID: "a", Reasons: []string{"email: not an email", "phone: too short"}, Raw: `{"id":"a"}`},
		{RecordID: "b\x00", Reasons: nil, Raw: "not json \xff\x00"},
	}})
	mustWrite(t, d, &sink.Batch{SyncID: 2, Pipeline: "crm", Entity: "deals", Table: tbl, Rejects: []sink.Reject{{RecordID: "c", Reasons: []string{"x"}}}})
	all, err := d.Rejects(ctx, sink.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].RecordID != "c" || all[2].RecordID != "a" {
		t.Fatalf("rejects newest first: %+v", all)
	}
	a := all[2]
	if a.Pipeline != "crm" || a.Entity != "contacts" || a.SyncID != 1 || a.Raw != `{"id":"a"}` ||
		strings.Join(a.Reasons, ";") != "email: not an email;phone: too short" || time.Since(a.CreatedAt) > time.Hour {
		t.Errorf("stored reject %+v", a)
	}
	if b := all[1]; b.RecordID != `b\u0000` || b.Raw != "not json \uFFFD\\u0000" || len(b.Reasons) != 0 {
		t.Errorf("unstorable text was not made storable: %+v", b)
	}
	got, _ := d.Rejects(ctx, sink.Filter{Entity: "contacts", Limit: 1})
	if len(got) != 1 || got[0].RecordID != `b\u0000` {
		t.Errorf("filtered rejects: %+v", got)
	}
}

func TestWriteChildren(t *testing.T) {
	d, admin := openTest(t)
	parent := contactsTable()
	keyed := &sink.Table{
		Name:       "contact_phones",
		Columns:    []sink.Column{{Name: "contact_id", Type: value.Integer}, {Name: "n", Type: value.Integer}, {Name: "phone", Type: value.Phone}},
		PrimaryKey: []string{"contact_id", "n"},
		ParentKey:  []string{"contact_id"},
	}
	loose := &sink.Table{
		Name:      "contact_notes",
		Columns:   []sink.Column{{Name: "contact_id", Type: value.Integer}, {Name: "note", Type: value.String}},
		ParentKey: []string{"contact_id"},
		Write:     sink.Append,
	}
	for _, tb := range []*sink.Table{parent, keyed, loose} {
		mustPrepare(t, d, tb)
	}
	phone := func(c, n int64, p string) sink.Row { return sink.Row{Values: []any{c, n, p}} }
	note := func(c int64, s string) sink.Row { return sink.Row{Values: []any{c, s}} }
	write := func(ids []int64, phones, notes []sink.Row) {
		var parents [][]any
		var rows []sink.Row
		for _, id := range ids {
			parents = append(parents, []any{id})
			rows = append(rows, contact(id, "x"))
		}
		mustWrite(t, d, &sink.Batch{Table: parent, Rows: rows, Children: []sink.ChildRows{
			{Table: keyed, Parents: parents, Rows: phones},
			{Table: loose, Parents: parents, Rows: notes},
		}})
	}
	write([]int64{1, 2}, []sink.Row{phone(1, 1, "a"), phone(1, 2, "b"), phone(2, 1, "c")}, []sink.Row{note(1, "n1"), note(1, "n1"), note(2, "n2")})
	// Contact 1 is synced again with one phone and no notes: its old
	// children go; contact 2's stay.
	write([]int64{1}, []sink.Row{phone(1, 1, "a2")}, nil)
	tests := []struct {
		sql  string
		want int
	}{
		{"SELECT count(*) FROM contact_phones WHERE contact_id = 1", 1},
		{"SELECT count(*) FROM contact_phones WHERE contact_id = 1 AND phone = 'a2'", 1},
		{"SELECT count(*) FROM contact_phones WHERE contact_id = 2", 1},
		{"SELECT count(*) FROM contact_notes WHERE contact_id = 1", 0},
		{"SELECT count(*) FROM contact_notes WHERE contact_id = 2", 1},
	}
	for _, tt := range tests {
		if n := count(t, admin, tt.sql); n != tt.want {
			t.Errorf("%s = %d, want %d", tt.sql, n, tt.want)
		}
	}
	// A child write failing in the database rolls back the parent batch and
	// the deletion of the old children.
	if _, err := admin.Exec(context.Background(), "ALTER TABLE contact_phones ADD CONSTRAINT no_bad CHECK (phone <> 'bad')"); err != nil {
		t.Fatal(err)
	}
	_, err := d.Write(context.Background(), &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: parent, Rows: []sink.Row{contact(9, "x"), contact(2, "y")},
		Children: []sink.ChildRows{{Table: keyed, Parents: [][]any{{int64(9)}, {int64(2)}}, Rows: []sink.Row{phone(9, 1, "bad")}}}})
	if n := count(t, admin, "SELECT count(*) FROM contact_phones WHERE contact_id = 2"); n != 1 {
		t.Error("the children deleted by a failed batch are gone")
	}
	if err == nil || !strings.Contains(err.Error(), `child table "contact_phones"`) {
		t.Errorf("child error %v", err)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts WHERE id = 9"); n != 0 {
		t.Error("the parent row of a failed child write was committed")
	}
}

func TestWriteAppend(t *testing.T) {
	d, admin := openTest(t)
	tbl := &sink.Table{Name: "events", Columns: []sink.Column{{Name: "id", Type: value.Integer}, {Name: "what", Type: value.String}},
		PrimaryKey: []string{"id"}, Write: sink.Append}
	mustPrepare(t, d, tbl)
	rows := []sink.Row{{Values: []any{int64(1), "a"}}, {Values: []any{int64(1), "a"}}}
	for range 2 {
		if r := mustWrite(t, d, &sink.Batch{SyncID: 1, Table: tbl, Rows: rows}); r != (sink.Result{Created: 2}) {
			t.Errorf("append result %+v", r)
		}
	}
	if n := count(t, admin, "SELECT count(*) FROM events WHERE _synced_at IS NOT NULL AND _sync_id = 1"); n != 4 {
		t.Errorf("append kept %d rows, want 4", n)
	}
}

// TestWriteAfterRedefinition: a Write with a table definition other than
// the prepared one prepares it first (a reload added a field).
func TestWriteAfterRedefinition(t *testing.T) {
	d, admin := openTest(t)
	mustPrepare(t, d, contactsTable())
	grown := contactsTable()
	grown.Columns = append(grown.Columns, sink.Column{Name: "city", Type: value.String})
	mustWrite(t, d, &sink.Batch{Table: grown, Rows: []sink.Row{{Values: []any{int64(1), nil, nil, "Oslo"}}}})
	if n := count(t, admin, "SELECT count(*) FROM contacts WHERE city = 'Oslo'"); n != 1 {
		t.Error("row with the new field not written")
	}
}

// TestFreshTableSkipsTheLookupSafely: batches into a table that was empty
// when prepared COPY straight in, and a batch that meets a stored key
// after all (a record read twice, a row another session wrote) is written
// again the usual way: counts exact, nothing doubled, nothing lost.
func TestFreshTableSkipsTheLookupSafely(t *testing.T) {
	d, admin := openTest(t)
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	if p := d.plans[tbl.Name]; p == nil || !p.fresh.Load() {
		t.Fatal("a new table is not fresh")
	}
	r := mustWrite(t, d, &sink.Batch{Table: tbl, Rows: []sink.Row{contact(1, "a@x.io"), contact(2, "b@x.io")}})
	if r.Created != 2 {
		t.Fatalf("first batch: %+v", r)
	}
	// Another session writes key 4; the next batch repeats key 2 and has 4.
	if _, err := admin.Exec(context.Background(), `INSERT INTO contacts (id, email, _row_hash, _synced_at) VALUES (4, 'old@x.io', '\x00', now())`); err != nil {
		t.Fatal(err)
	}
	r = mustWrite(t, d, &sink.Batch{Table: tbl, Rows: []sink.Row{contact(2, "b@x.io"), contact(3, "c@x.io"), contact(4, "d@x.io")}})
	if r.Created != 1 || r.Unchanged != 1 || r.Updated != 1 {
		t.Fatalf("batch meeting stored keys: %+v, want 1 created, 1 unchanged, 1 updated", r)
	}
	if d.plans[tbl.Name].fresh.Load() {
		t.Error("the table is still taken for fresh")
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 4 {
		t.Errorf("%d rows, want 4", n)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts WHERE id = 4 AND email = 'd@x.io'"); n != 1 {
		t.Error("the row another session wrote was not updated")
	}
	// A table with rows is not fresh when prepared again.
	mustPrepare(t, d, tbl)
	if d.plans[tbl.Name].fresh.Load() {
		t.Error("a table with rows is taken for fresh")
	}
}
