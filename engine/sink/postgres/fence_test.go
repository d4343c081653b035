package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestFencedWritesAfterALostClaim: a run's lock session is cut (as a
// pooler or idle_session_timeout would) and a second run claims the
// entity while the first still holds a batch in hand. The first run's
// batch, its full refresh's delete and its checkpoint must not commit;
// its error names the newer claim. The newer run's writes do.
func TestFencedWritesAfterALostClaim(t *testing.T) {
	ctx := context.Background()
	d, admin := openTest(t)
	tbl := contactsTable()
	tbl.DeleteMissing = "hard"
	mustPrepare(t, d, tbl)
	mustWrite(t, d, &sink.Batch{Table: tbl, Rows: []sink.Row{contact(1, "a@x.io"), contact(2, "b@x.io")}})

	first, err := d.LockWatched(ctx, "crm", "contacts", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Unlock()
	old := sink.Fence{Pipeline: "crm", Entity: "contacts", Epoch: first.Epoch()}
	if err := d.BeginFull(ctx, tbl, 7, old); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, d, &sink.Batch{SyncID: 7, Table: tbl, Epoch: old.Epoch, Rows: []sink.Row{contact(3, "c@x.io")}})

	// The first run's lock session ends; a second run claims the entity.
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'crmsync lock crm/contacts'"); err != nil {
		t.Fatal(err)
	}
	var second sink.Claim
	deadline := time.Now().Add(10 * time.Second)
	for second == nil {
		c, err := d.LockWatched(ctx, "crm", "contacts", nil)
		switch {
		case err == nil:
			second = c
		case errors.Is(err, sink.ErrLocked) && time.Now().Before(deadline):
			time.Sleep(50 * time.Millisecond) // the server is still ending the session
		default:
			t.Fatalf("second claim: %v", err)
		}
	}
	defer second.Unlock()
	if second.Epoch() <= old.Epoch {
		t.Fatalf("second claim has epoch %d, first had %d: the epoch must grow", second.Epoch(), old.Epoch)
	}

	_, err = d.Write(ctx, &sink.Batch{SyncID: 7, Pipeline: "crm", Entity: "contacts", Table: tbl, Epoch: old.Epoch,
		Rows:       []sink.Row{contact(4, "d@x.io")},
		Checkpoint: &sink.Checkpoint{Watermark: "stale"}})
	if !errors.Is(err, sink.ErrClaimLost) || !strings.Contains(err.Error(), "claimed again") || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("a write under the lost claim: %v, want ErrClaimLost naming the newer claim", err)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts WHERE id = 4"); n != 0 {
		t.Errorf("the fenced batch committed %d rows", n)
	}
	if n := count(t, admin, "SELECT count(*) FROM crmsync_state WHERE watermark = 'stale'"); n != 0 {
		t.Errorf("the fenced batch moved the checkpoint")
	}
	// The read was complete, but the claim is gone: nothing is deleted.
	if err := d.FinishFull(ctx, tbl, 7, true); !errors.Is(err, sink.ErrClaimLost) {
		t.Fatalf("FinishFull under the lost claim: %v, want ErrClaimLost", err)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 3 {
		t.Errorf("after the fenced delete_missing: %d rows, want all 3", n)
	}
	// The newer claim commits.
	mustWrite(t, d, &sink.Batch{Table: tbl, Epoch: second.Epoch(), Rows: []sink.Row{contact(5, "e@x.io")}})
	if n := count(t, admin, "SELECT count(*) FROM contacts WHERE id = 5"); n != 1 {
		t.Errorf("the newer claim's batch did not commit")
	}
}

// TestProgressCommitsWithTheBatch: the history row of a running sync is
// brought up to the counts of each batch in its transaction, so a sync
// killed later still shows what it committed.
func TestProgressCommitsWithTheBatch(t *testing.T) {
	ctx := context.Background()
	d, admin := openTest(t)
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	id, err := d.StartSync(ctx, &sink.Sync{Pipeline: "crm", Entity: "contacts", Status: sink.StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, d, &sink.Batch{SyncID: id, Table: tbl, Rows: []sink.Row{contact(1, "a@x.io"), contact(2, "b@x.io")},
		Progress: &sink.Progress{Processed: 4, Rejected: 1, Filtered: 1}})
	mustWrite(t, d, &sink.Batch{SyncID: id, Table: tbl, Rows: []sink.Row{contact(2, "b2@x.io"), contact(3, "c@x.io")},
		Progress: &sink.Progress{Processed: 7, Rejected: 2, Filtered: 1}})
	var processed, created, updated, rejected, filtered int
	if err := admin.QueryRow(ctx, "SELECT processed, created, updated, rejected, filtered FROM crmsync_sync_history WHERE id = $1", id).
		Scan(&processed, &created, &updated, &rejected, &filtered); err != nil {
		t.Fatal(err)
	}
	if processed != 7 || created != 3 || updated != 1 || rejected != 2 || filtered != 1 {
		t.Errorf("history of the running sync: processed %d created %d updated %d rejected %d filtered %d, want 7 3 1 2 1",
			processed, created, updated, rejected, filtered)
	}
}
