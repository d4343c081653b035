package postgres

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// TestPrepareWrite: a batch encoded ahead by PrepareWrite lands as
// without it; an encoding error comes back from Write word for word and
// nothing of that batch lands; a batch prepared for a plan that changed
// before its Write is encoded again for the new one;
// a table not prepared yet is left to Write.
func TestPrepareWrite(t *testing.T) {
	ctx := context.Background()
	d, admin := openTest(t)
	tbl := contactsTable()

	fresh := &sink.Batch{Pipeline: "crm", Entity: "contacts", SyncID: 1, Table: tbl, Rows: []sink.Row{contact(1, "a"), contact(2, "b")}}
	d.PrepareWrite(ctx, fresh)
	if fresh.Prepared != nil {
		t.Fatal("PrepareWrite encoded for a table Write has not prepared")
	}
	mustPrepare(t, d, tbl)

	b := &sink.Batch{Pipeline: "crm", Entity: "contacts", SyncID: 1, Table: tbl, Rows: []sink.Row{contact(1, "a"), contact(2, "b"), contact(1, "c")}}
	d.PrepareWrite(ctx, b)
	if b.Prepared == nil {
		t.Fatal("PrepareWrite kept nothing")
	}
	if got := mustWrite(t, d, b); got != (sink.Result{Created: 2}) {
		t.Errorf("prepared batch: %+v", got)
	}
	var email string
	if err := admin.QueryRow(ctx, "SELECT email FROM contacts WHERE id = 1").Scan(&email); err != nil || email != "c" {
		t.Errorf("id 1 is %q (%v), want the last row's c", email, err)
	}

	bad := func() *sink.Batch {
		return &sink.Batch{Pipeline: "crm", Entity: "contacts", SyncID: 2, Table: tbl, Rows: []sink.Row{contact(3, "ok"), contact(4, "nul\x00")}}
	}
	_, want := d.Write(ctx, bad())
	pb := bad()
	d.PrepareWrite(ctx, pb)
	_, got := d.Write(ctx, pb)
	if want == nil || got == nil || got.Error() != want.Error() {
		t.Errorf("prepared error %v, want %v", got, want)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 2 {
		t.Errorf("%d rows after the failed batch, want 2", n)
	}

	// Prepared, then the table's plan changes (another definition is
	// prepared in between): Write encodes again for the plan it writes to.
	late := &sink.Batch{Pipeline: "crm", Entity: "contacts", SyncID: 3, Table: tbl, Rows: []sink.Row{contact(5, "e")}}
	d.PrepareWrite(ctx, late)
	old := late.Prepared.(*prepared).p
	grown := &sink.Table{Name: tbl.Name, Columns: append(append([]sink.Column{}, tbl.Columns...), sink.Column{Name: "note", Type: value.String}), PrimaryKey: tbl.PrimaryKey}
	mustPrepare(t, d, grown)
	if got := mustWrite(t, d, late); got != (sink.Result{Created: 1}) {
		t.Errorf("batch prepared for an older plan: %+v", got)
	}
	if p, _, _ := d.cached(tbl); p == nil || p == old {
		t.Fatalf("the plan did not change (%p, %p): the case tests nothing", p, old)
	}
	if err := admin.QueryRow(ctx, "SELECT email FROM contacts WHERE id = 5").Scan(&email); err != nil || email != "e" {
		t.Errorf("id 5 is %q (%v), want e", email, err)
	}
}
