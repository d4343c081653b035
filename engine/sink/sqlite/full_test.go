package sqlite

import (
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// fullSync runs BeginFull, one Write per batch and FinishFull(ok).
func fullSync(t *testing.T, d *DB, tb *sink.Table, syncID int64, ok bool, batches ...[]sink.Row) []sink.Result {
	t.Helper()
	if err := d.BeginFull(ctx, tb, syncID, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	var res []sink.Result
	for _, rows := range batches {
		res = append(res, mustWrite(t, d, &sink.Batch{SyncID: syncID, Table: tb, Rows: rows}))
	}
	if err := d.FinishFull(ctx, tb, syncID, ok); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestReplace(t *testing.T) {
	d, _ := openTemp(t)
	tb := contacts()
	tb.Write = sink.Replace
	mustPrepare(t, d, tb)
	fullSync(t, d, tb, 1, true, []sink.Row{row("1", "Ann", nil), row("2", "Bob", nil)}, []sink.Row{row("3", "Cy", nil)})
	equal(t, "first replace", dump(t, d, "SELECT id, name FROM contacts ORDER BY id"), []string{"1|Ann", "2|Bob", "3|Cy"})

	// While the second load runs, readers still see the old table.
	if err := d.BeginFull(ctx, tb, 2, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	res := mustWrite(t, d, &sink.Batch{SyncID: 2, Table: tb, Rows: []sink.Row{row("2", "Bob", nil), row("4", "Di", nil), row("4", "Dee", nil)}})
	if res != (sink.Result{Created: 2}) {
		t.Errorf("load into the new table: %+v", res)
	}
	equal(t, "during the load", dump(t, d, "SELECT id FROM contacts ORDER BY id"), []string{"1", "2", "3"})
	if err := d.FinishFull(ctx, tb, 2, true); err != nil {
		t.Fatal(err)
	}
	equal(t, "swapped", dump(t, d, "SELECT id, name FROM contacts ORDER BY id"), []string{"2|Bob", "4|Dee"})

	// A failed load leaves the table as it was.
	fullSync(t, d, tb, 3, false, []sink.Row{row("9", "Zed", nil)})
	equal(t, "after a failed replace", dump(t, d, "SELECT id FROM contacts ORDER BY id"), []string{"2", "4"})
	equal(t, "no staging left", dump(t, d, "SELECT name FROM sqlite_schema WHERE name LIKE 'crmsync_new%'"), nil)

	// Writes after the swap, outside a full sync, upsert the live table.
	if res := mustWrite(t, d, &sink.Batch{SyncID: 4, Table: tb, Rows: []sink.Row{row("2", "Bob", nil), row("5", "Eve", nil)}}); res != (sink.Result{Created: 1, Unchanged: 1}) {
		t.Errorf("upsert after replace: %+v", res)
	}
	equal(t, "primary key kept", dump(t, d, `SELECT name FROM pragma_table_info('contacts') WHERE pk = 1`), []string{"id"})
}

func TestReplaceChildTableKeepsIndex(t *testing.T) {
	d, _ := openTemp(t)
	tb := &sink.Table{Name: "lines", Write: sink.Replace, ParentKey: []string{"order_id"},
		Columns: []sink.Column{{Name: "order_id", Type: value.Integer}, {Name: "sku", Type: value.String}}}
	mustPrepare(t, d, tb)
	for i := range 3 {
		fullSync(t, d, tb, int64(i+1), true, []sink.Row{row(int64(i), "x")})
	}
	equal(t, "indexes", dump(t, d, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'lines'"), []string{"lines_crmsync_synced_at", "lines_crmsync_parent"})
	equal(t, "rows", dump(t, d, "SELECT order_id FROM lines"), []string{"2"})
}

func TestDeleteMissing(t *testing.T) {
	for _, mode := range []string{"soft", "hard"} {
		t.Run(mode, func(t *testing.T) {
			d, _ := openTemp(t)
			tb := contacts()
			tb.DeleteMissing = sink.DeleteMode(mode)
			mustPrepare(t, d, tb)
			fullSync(t, d, tb, 1, true, []sink.Row{row("1", "Ann", nil), row("2", "Bob", nil), row("3", "Cy", nil), row("4", "Di", nil)})

			// A failed full sync that did not see 3 and 4 deletes nothing.
			fullSync(t, d, tb, 2, false, []sink.Row{row("1", "Ann", nil), row("2", "Bob", nil)})
			// Writes outside a full sync (an incremental run) do not count as seen.
			mustWrite(t, d, &sink.Batch{SyncID: 3, Table: tb, Rows: []sink.Row{row("3", "Cy", nil)}})

			// A complete sync sees 1 unchanged and 2 changed, across two batches.
			res := fullSync(t, d, tb, 4, true, []sink.Row{row("1", "Ann", nil)}, []sink.Row{row("2", "Bobby", nil), row("1", "Ann", nil)})
			if res[0] != (sink.Result{Unchanged: 1}) || res[1] != (sink.Result{Updated: 1, Unchanged: 1}) {
				t.Errorf("counts: %+v", res)
			}
			if mode == "hard" {
				equal(t, "rows", dump(t, d, "SELECT id, name FROM contacts ORDER BY id"), []string{"1|Ann", "2|Bobby"})
			} else {
				equal(t, "rows", dump(t, d, "SELECT id, name, _deleted_at IS NOT NULL FROM contacts ORDER BY id"),
					[]string{"1|Ann|0", "2|Bobby|0", "3|Cy|1", "4|Di|1"})
				deleted := dump(t, d, "SELECT _deleted_at FROM contacts WHERE id = '3'")
				// A row that comes back is live again and counts as updated.
				res := fullSync(t, d, tb, 5, true, []sink.Row{row("1", "Ann", nil), row("2", "Bobby", nil), row("3", "Cy", nil)})
				if res[0] != (sink.Result{Updated: 1, Unchanged: 2}) {
					t.Errorf("revived: %+v", res)
				}
				equal(t, "after revival", dump(t, d, "SELECT id, _deleted_at IS NOT NULL FROM contacts ORDER BY id"),
					[]string{"1|0", "2|0", "3|0", "4|1"})
				equal(t, "4 keeps its deletion time", dump(t, d, "SELECT _deleted_at FROM contacts WHERE id = '4'"), deleted)
			}
			equal(t, "no seen table left", dump(t, d, "SELECT name FROM sqlite_schema WHERE name LIKE 'crmsync_seen%'"), nil)
		})
	}
}

func TestFinishFullWrongSync(t *testing.T) {
	d, _ := openTemp(t)
	tb := contacts()
	tb.Write = sink.Replace
	mustPrepare(t, d, tb)
	if err := d.BeginFull(ctx, tb, 1, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	if err := d.FinishFull(ctx, tb, 2, true); err == nil {
		t.Error("finishing another sync's full load succeeded")
	}
	// An upsert table without delete_missing needs no full-sync work.
	plain := &sink.Table{Name: "plain", Columns: tb.Columns, PrimaryKey: tb.PrimaryKey}
	if err := d.BeginFull(ctx, plain, 3, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	if err := d.FinishFull(ctx, plain, 3, true); err != nil {
		t.Fatal(err)
	}
}
