package sqlite

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

func TestOpenDSN(t *testing.T) {
	for _, dsn := range []string{"sqlite:", "sqlite::memory:", "sqlite:file:x.db", "postgres://x"} {
		if d, err := Open(ctx, dsn); err == nil {
			d.Close()
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
	path := t.TempDir() + "/via-registry.db"
	dest, err := sink.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	if err := dest.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	d := dest.(*DB)
	equal(t, "journal mode", dump(t, d, "PRAGMA journal_mode"), []string{"wal"})
	equal(t, "state tables", dump(t, d, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"),
		[]string{"crmsync_claims", "crmsync_locks", "crmsync_rejects", "crmsync_state", "crmsync_sync_history"})
}

func TestPrepareCreatesTable(t *testing.T) {
	d, _ := openTemp(t)
	tb := &sink.Table{
		Name: `odd "name"`,
		Columns: []sink.Column{
			{Name: "id", Type: value.Integer}, {Name: "email", Type: value.Email}, {Name: "amount", Type: value.Decimal},
			{Name: "ratio", Type: value.Float}, {Name: "active", Type: value.Boolean}, {Name: "born", Type: value.Date},
			{Name: "updated_at", Type: value.Datetime}, {Name: "extra", Type: value.JSON}, {Name: "tags", Type: value.StringArray},
			{Name: `we"ird`, Type: value.String},
		},
		PrimaryKey:    []string{"id"},
		KeepRaw:       true,
		DeleteMissing: "soft",
	}
	mustPrepare(t, d, tb)
	mustPrepare(t, d, tb) // idempotent
	equal(t, "table_info", dump(t, d, `SELECT name, type, "notnull", pk FROM pragma_table_info(?)`, tb.Name), []string{
		"id|BIGINT|1|1", "email|TEXT|0|0", "amount|DECIMAL_TEXT|0|0", "ratio|REAL|0|0", "active|BOOLEAN|0|0",
		"born|DATE|0|0", "updated_at|DATETIME|0|0", "extra|JSON_TEXT|0|0", "tags|JSON_ARRAY_TEXT|0|0",
		`we"ird|TEXT|0|0`, "_synced_at|DATETIME|0|0", "_sync_id|BIGINT|0|0", "_raw|JSON_TEXT|0|0",
		"_deleted_at|DATETIME|0|0",
	})
}

func TestPrepareRejectsBadTables(t *testing.T) {
	cols := []sink.Column{{Name: "id", Type: value.String}}
	for _, tc := range []struct {
		table *sink.Table
		want  string
	}{
		{&sink.Table{Name: "crmsync_state", Columns: cols}, "reserved"},
		{&sink.Table{Name: "crmsync_new_x", Columns: cols}, "reserved"},
		{&sink.Table{Name: "t"}, "no columns"},
		{&sink.Table{Name: "t", Columns: []sink.Column{{Name: "id"}, {Name: "ID"}}}, `column "ID" appears twice`},
		{&sink.Table{Name: "t", Columns: []sink.Column{{Name: "_synced_at"}}}, "system column"},
		{&sink.Table{Name: "t", Columns: cols, PrimaryKey: []string{"nope"}}, `primary key column "nope"`},
		{&sink.Table{Name: "t", Columns: cols, DeleteMissing: "soft"}, "needs write: upsert and a primary key"},
		{&sink.Table{Name: "t", Columns: cols, Write: "merge"}, `write mode "merge"`},
	} {
		d, _ := openTemp(t)
		err := d.Prepare(ctx, tc.table)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Prepare(%q): got %v, want an error containing %q", tc.table.Name, err, tc.want)
		}
	}
}

func TestEvolution(t *testing.T) {
	d, _ := openTemp(t)
	v1 := contacts()
	mustPrepare(t, d, v1)
	mustWrite(t, d, &sink.Batch{Table: v1, Rows: []sink.Row{row("1", "Ann", int64(5))}})

	// A new field adds a column; a removed field ("score") leaves its column.
	v2 := &sink.Table{Name: "contacts", PrimaryKey: []string{"id"},
		Columns: []sink.Column{{Name: "id", Type: value.String}, {Name: "name", Type: value.String}, {Name: "amount", Type: value.Decimal}}}
	mustPrepare(t, d, v2)
	res := mustWrite(t, d, &sink.Batch{Table: v2, Rows: []sink.Row{row("1", "Ann", nil), row("2", "Bob", "12.50")}})
	if res != (sink.Result{Created: 1, Unchanged: 1}) {
		t.Errorf("after adding a column: %+v, want 1 created, 1 unchanged", res)
	}
	equal(t, "rows", dump(t, d, `SELECT id, name, score, amount FROM contacts ORDER BY id`), []string{"1|Ann|5|NULL", "2|Bob|NULL|12.50"})

	// A changed type is an error naming table, column, both types and a way out.
	v3 := contacts()
	v3.Columns[2].Type = value.String // score: integer → string
	err := d.Prepare(ctx, v3)
	for _, want := range []string{`table "contacts"`, `column "score"`, "BIGINT", "string (TEXT)", `RENAME COLUMN "score" TO "score_old"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("type change: got %v, want it to contain %q", err, want)
		}
	}
	// Types stored alike (string → email) are no change.
	v4 := contacts()
	v4.Columns[1].Type = value.Email
	mustPrepare(t, d, v4)

	// A changed key is an error too.
	v5 := contacts()
	v5.PrimaryKey = []string{"id", "name"}
	if err := d.Prepare(ctx, v5); err == nil || !strings.Contains(err.Error(), "primary key (id)") {
		t.Errorf("key change: got %v", err)
	}
	if errors.Is(err, sink.ErrLocked) {
		t.Error("unexpected ErrLocked")
	}
}
