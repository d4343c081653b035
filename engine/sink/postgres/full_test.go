package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

func contacts(from, to int64, email string) []sink.Row {
	var rows []sink.Row
	for id := from; id <= to; id++ {
		rows = append(rows, contact(id, email))
	}
	return rows
}

// fullSync runs BeginFull, one Write per batch and FinishFull(ok).
func fullSync(t *testing.T, d *DB, tbl *sink.Table, syncID int64, ok bool, batches ...[]sink.Row) {
	t.Helper()
	ctx := context.Background()
	if err := d.BeginFull(ctx, tbl, syncID, sink.Fence{}); err != nil {
		t.Fatalf("BeginFull: %v", err)
	}
	for _, rows := range batches {
		mustWrite(t, d, &sink.Batch{SyncID: syncID, Table: tbl, Rows: rows})
	}
	if err := d.FinishFull(ctx, tbl, syncID, ok); err != nil {
		t.Fatalf("FinishFull(%v): %v", ok, err)
	}
}

func TestReplace(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	tbl := contactsTable()
	tbl.Write = sink.Replace
	mustPrepare(t, d, tbl)
	fullSync(t, d, tbl, 1, true, contacts(1, 100, "old"))
	if n := count(t, admin, "SELECT count(*) FROM contacts WHERE email = 'old'"); n != 100 {
		t.Fatalf("first replace: %d rows", n)
	}

	// A reader polls the table on its own connection during a second full
	// sync: it must only ever see the old 100 rows or the new 150.
	reader, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(ctx)
	var stop atomic.Bool
	var seen sync.Map
	var wg sync.WaitGroup
	wg.Go(func() {
		q := fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE email = 'new') FROM %s", d.ident("contacts"))
		for !stop.Load() {
			var n, fresh int
			if err := reader.QueryRow(ctx, q).Scan(&n, &fresh); err != nil {
				t.Errorf("reader: %v", err)
				return
			}
			seen.Store(fmt.Sprintf("%d/%d", n, fresh), true)
		}
	})
	if err := d.BeginFull(ctx, tbl, 2, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 3; i++ {
		mustWrite(t, d, &sink.Batch{SyncID: 2, Table: tbl, Rows: contacts(i*50+1, i*50+50, "new")})
		time.Sleep(20 * time.Millisecond)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 100 {
		t.Errorf("during the sync the table has %d rows, want the old 100", n)
	}
	if err := d.FinishFull(ctx, tbl, 2, true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	seen.Range(func(k, _ any) bool {
		if k != "100/0" && k != "150/150" {
			t.Errorf("a reader saw %v rows (total/new): a half table", k)
		}
		return true
	})
	if _, ok := seen.Load("150/150"); !ok {
		t.Error("the reader never saw the new table")
	}

	// A reader inside a transaction keeps the old table until it ends: the
	// swap waits for it.
	tx, err := reader.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, tx.Conn(), "SELECT count(*) FROM "+d.ident("contacts")); n != 150 {
		t.Fatalf("reader sees %d", n)
	}
	if err := d.BeginFull(ctx, tbl, 3, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, d, &sink.Batch{SyncID: 3, Table: tbl, Rows: contacts(1, 10, "third")})
	done := make(chan error)
	go func() { done <- d.FinishFull(ctx, tbl, 3, true) }()
	time.Sleep(100 * time.Millisecond)
	if n := count(t, tx.Conn(), "SELECT count(*) FROM "+d.ident("contacts")); n != 150 {
		t.Errorf("reader's transaction saw %d rows mid-swap, want 150", n)
	}
	tx.Commit(ctx)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 10 {
		t.Errorf("after the third replace: %d rows, want 10", n)
	}

	// A failed full sync leaves the old table and drops the new one.
	fullSync(t, d, tbl, 4, false, contacts(1, 3, "failed"))
	if n := count(t, admin, "SELECT count(*) FROM contacts WHERE email = 'third'"); n != 10 {
		t.Errorf("after a failed replace: %d old rows, want 10", n)
	}
	if n := count(t, admin, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%crmsync_new'", d.Schema()); n != 0 {
		t.Error("the new table of a failed replace was left behind")
	}
	// Incremental (non-full) writes still go to the table itself.
	mustWrite(t, d, &sink.Batch{SyncID: 5, Table: tbl, Rows: contacts(11, 11, "inc")})
	if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 11 {
		t.Errorf("after an incremental write: %d rows, want 11", n)
	}
	// The swapped-in table kept the key constraint's name, so the next
	// replace can create its new table again.
	fullSync(t, d, tbl, 6, true, contacts(1, 2, "again"))
	if n := count(t, admin, "SELECT count(*) FROM pg_constraint WHERE conname = 'contacts_pkey' AND connamespace = $1::regnamespace", quote(d.Schema())); n != 1 {
		t.Error("the primary key constraint is not named contacts_pkey after swaps")
	}
}

func TestReplaceBlockedByView(t *testing.T) {
	d, admin := openTest(t)
	tbl := contactsTable()
	tbl.Write = sink.Replace
	mustPrepare(t, d, tbl)
	if _, err := admin.Exec(context.Background(), "CREATE VIEW v AS SELECT id FROM contacts"); err != nil {
		t.Fatal(err)
	}
	if err := d.BeginFull(context.Background(), tbl, 1, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, d, &sink.Batch{SyncID: 1, Table: tbl, Rows: contacts(1, 2, "x")})
	err := d.FinishFull(context.Background(), tbl, 1, true)
	if err == nil || !strings.Contains(err.Error(), "views or foreign keys depend on the table") {
		t.Errorf("swap under a view: %v", err)
	}
	if n := count(t, admin, "SELECT count(*) FROM v"); n != 0 {
		t.Errorf("view sees %d rows", n)
	}
}

func TestDeleteMissing(t *testing.T) {
	for _, mode := range []string{"soft", "hard"} {
		t.Run(mode, func(t *testing.T) {
			d, admin := openTest(t)
			tbl := contactsTable()
			tbl.DeleteMissing = sink.DeleteMode(mode)
			mustPrepare(t, d, tbl)
			mustWrite(t, d, &sink.Batch{SyncID: 1, Table: tbl, Rows: contacts(1, 10, "a")})
			live := "SELECT count(*) FROM contacts"
			if mode == "soft" {
				live += " WHERE _deleted_at IS NULL"
			}

			// A failed full sync that saw only 1..5 deletes nothing.
			fullSync(t, d, tbl, 2, false, contacts(1, 5, "a"))
			if n := count(t, admin, live); n != 10 {
				t.Errorf("after a failed full sync: %d live rows, want 10", n)
			}
			// A complete one that saw 1..3 unchanged, 4..6 changed and 11 new
			// (over two batches) removes 7..10.
			fullSync(t, d, tbl, 3, true, contacts(1, 3, "a"), append(contacts(4, 6, "b"), contact(11, "c")))
			if n := count(t, admin, live); n != 7 {
				t.Errorf("after a complete full sync: %d live rows, want 7", n)
			}
			if n := count(t, admin, "SELECT count(*) FROM contacts WHERE id BETWEEN 7 AND 10"); mode == "hard" && n != 0 || mode == "soft" && n != 4 {
				t.Errorf("%s delete left %d of rows 7..10", mode, n)
			}
			if mode == "soft" {
				// A deleted row that comes back is undeleted (and counted as updated).
				r := mustWrite(t, d, &sink.Batch{SyncID: 4, Table: tbl, Rows: contacts(7, 7, "a")})
				if r != (sink.Result{Updated: 1}) {
					t.Errorf("undelete: %+v", r)
				}
				if n := count(t, admin, live); n != 8 {
					t.Errorf("after undelete: %d live rows, want 8", n)
				}
				// Rows already deleted keep their first _deleted_at.
				fullSync(t, d, tbl, 5, true, contacts(1, 7, "a"))
				if n := count(t, admin, "SELECT count(DISTINCT _deleted_at) FROM contacts WHERE id BETWEEN 8 AND 10"); n != 1 {
					t.Errorf("earlier deletions were re-stamped: %d distinct times", n)
				}
			}
			// The seen-keys table is gone.
			if n := count(t, admin, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%crmsync_seen'", d.Schema()); n != 0 {
				t.Error("the seen-keys table was left behind")
			}
		})
	}
}

// TestDeleteMissingLostSeen: if the unlogged seen-keys table is emptied
// (as a server crash does), nothing is deleted.
func TestDeleteMissingLostSeen(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	tbl := contactsTable()
	tbl.DeleteMissing = "hard"
	mustPrepare(t, d, tbl)
	mustWrite(t, d, &sink.Batch{SyncID: 1, Table: tbl, Rows: contacts(1, 10, "a")})
	if err := d.BeginFull(ctx, tbl, 2, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, d, &sink.Batch{SyncID: 2, Table: tbl, Rows: contacts(1, 2, "a")})
	if _, err := admin.Exec(ctx, "TRUNCATE contacts__s2__crmsync_seen"); err != nil {
		t.Fatal(err)
	}
	err := d.FinishFull(ctx, tbl, 2, true)
	if err == nil || !strings.Contains(err.Error(), "no rows were deleted") {
		t.Errorf("FinishFull with a lost seen table: %v", err)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 10 {
		t.Errorf("%d rows left, want 10", n)
	}
	if err := d.FinishFull(ctx, tbl, 2, true); err == nil {
		t.Error("FinishFull without BeginFull succeeded")
	}
}

// TestStaleWorkTablesOfLongNames: a killed sync's work tables are found
// and dropped by the next full sync even when the table name is long
// enough that their names are shortened with a hash.
func TestStaleWorkTablesOfLongNames(t *testing.T) {
	ctx := context.Background()
	d, admin := openTest(t)
	tbl := contactsTable()
	tbl.Name = "records_removed_from_the_crm_are_deleted_here_xx" // 48 bytes
	tbl.DeleteMissing = "hard"
	mustPrepare(t, d, tbl)
	if err := d.BeginFull(ctx, tbl, 123456789, sink.Fence{}); err != nil { // then killed
		t.Fatal(err)
	}
	if n := count(t, admin, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = $2", d.Schema(), seenTable(tbl.Name, 123456789)); n != 1 {
		t.Fatalf("the work table %s was not made", seenTable(tbl.Name, 123456789))
	}
	if err := d.BeginFull(ctx, tbl, 123456790, sink.Fence{}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, admin, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%crmsync_seen'", d.Schema()); n != 1 {
		t.Errorf("%d seen-keys tables after the next full sync began, want only its own", n)
	}
	if err := d.FinishFull(ctx, tbl, 123456790, false); err != nil {
		t.Fatal(err)
	}
}
