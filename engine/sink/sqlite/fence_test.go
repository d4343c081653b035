package sqlite

import (
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestFencedWritesAfterATakeover: a process stops beating its lock (a
// laptop asleep, a process stopped for minutes), another takes the
// entity over. When the first wakes up holding a batch, the batch, its
// delete_missing and its checkpoint must not commit, and its heartbeat
// reports the loss.
func TestFencedWritesAfterATakeover(t *testing.T) {
	d, path := openTemp(t)
	other, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tbl := contacts()
	tbl.DeleteMissing = "hard"
	mustPrepare(t, d, tbl)
	mustWrite(t, d, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tbl, Rows: []sink.Row{row("1", "a", nil), row("2", "b", nil)}})

	lost := make(chan error, 1)
	first, err := d.LockWatched(ctx, "crm", "contacts", func(err error) { lost <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer first.Unlock()
	old := sink.Fence{Pipeline: "crm", Entity: "contacts", Epoch: first.Epoch()}
	if err := d.BeginFull(ctx, tbl, 7, old); err != nil {
		t.Fatal(err)
	}
	// The heartbeat stopped three minutes ago: the lock is stale.
	if _, err := d.w.ExecContext(ctx, `UPDATE crmsync_locks SET heartbeat_at = ?`, formatTime(time.Now().Add(-3*time.Minute))); err != nil {
		t.Fatal(err)
	}
	second, err := other.LockWatched(ctx, "crm", "contacts", nil)
	if err != nil {
		t.Fatalf("taking over the stale lock: %v", err)
	}
	defer second.Unlock()
	if second.Epoch() <= old.Epoch {
		t.Fatalf("epoch %d after %d: it must grow", second.Epoch(), old.Epoch)
	}

	_, err = d.Write(ctx, &sink.Batch{SyncID: 7, Pipeline: "crm", Entity: "contacts", Table: tbl, Epoch: old.Epoch,
		Rows: []sink.Row{row("3", "c", nil)}, Checkpoint: &sink.Checkpoint{Watermark: "stale"}})
	if !errors.Is(err, sink.ErrClaimLost) {
		t.Fatalf("write under the lost claim: %v, want ErrClaimLost", err)
	}
	equal(t, "rows after the fenced write", dump(t, d, "SELECT id FROM contacts ORDER BY id"), []string{"1", "2"})
	equal(t, "checkpoint", dump(t, d, "SELECT count(*) FROM crmsync_state WHERE watermark = 'stale'"), []string{"0"})
	if err := d.FinishFull(ctx, tbl, 7, true); !errors.Is(err, sink.ErrClaimLost) {
		t.Fatalf("FinishFull under the lost claim: %v, want ErrClaimLost", err)
	}
	equal(t, "rows after the fenced delete_missing", dump(t, d, "SELECT id FROM contacts ORDER BY id"), []string{"1", "2"})

	if err := first.Check(ctx); !errors.Is(err, sink.ErrClaimLost) {
		t.Errorf("Check of the taken-over claim: %v", err)
	}
	select {
	case err := <-lost:
		if !errors.Is(err, sink.ErrClaimLost) {
			t.Errorf("lost called with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("lost was not called")
	}
	mustWrite(t, other, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tbl, Epoch: second.Epoch(), Rows: []sink.Row{row("4", "d", nil)}})
	equal(t, "the newer claim commits", dump(t, d, "SELECT id FROM contacts ORDER BY id"), []string{"1", "2", "4"})
}

// TestBusyFileSaysWhy: a SQL client holding the file's write lock makes
// a batch fail after busy_timeout with an error that says what happened
// and what to do, and commits nothing.
func TestBusyFileSaysWhy(t *testing.T) {
	_, path := openTemp(t)
	d, err := Open(ctx, "sqlite:"+path+"?_pragma=busy_timeout(300)")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tbl := contacts()
	mustPrepare(t, d, tbl)
	client, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := client.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	_, err = d.Write(ctx, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tbl, Rows: []sink.Row{row("1", "a", nil)}})
	if err == nil || !strings.Contains(err.Error(), "busy_timeout") || !strings.Contains(err.Error(), `write "contacts"`) {
		t.Fatalf("Write while another connection holds the write lock: %v", err)
	}
	conn.ExecContext(ctx, "ROLLBACK")
	equal(t, "rows", dump(t, d, "SELECT count(*) FROM contacts"), []string{"0"})
}
