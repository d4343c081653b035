package postgres

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

// syncBuffer is a log sink safe for the writer and the wait watcher.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// holdTableLock takes the batch lock of table in an open transaction of
// its own, as a second writer (or a stuck session) would.
func holdTableLock(t *testing.T, d *DB, table string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	if _, err := c.Exec(ctx, "SET application_name = 'crmsync test blocker'"); err != nil {
		t.Fatal(err)
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", hash64("crmsync table", d.schema, table)); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitForBlocked returns the backend pid of the session waiting on the
// blocker's lock.
func waitForBlocked(t *testing.T, admin *pgx.Conn) int64 {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		var pid int64
		err := admin.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity
			WHERE application_name = 'crmsync' AND wait_event_type = 'Lock' LIMIT 1`).Scan(&pid)
		if err == nil {
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no batch came to wait for the lock")
	return 0
}

// TestBatchWrittenAgainAfterItsConnectionDrops: the session of a batch is
// terminated while the batch waits inside its transaction (before
// COMMIT). The batch is atomic, so it is written again on a new
// connection and the sync carries on; before, one dropped connection
// failed the whole run.
func TestBatchWrittenAgainAfterItsConnectionDrops(t *testing.T) {
	defer func(b time.Duration) { writeBackoff = b }(writeBackoff)
	writeBackoff = 10 * time.Millisecond
	d, admin := openTest(t)
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	blocker := holdTableLock(t, d, tbl.Name)
	var logs syncBuffer
	ctx := sink.WithLogger(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
	done := make(chan error, 1)
	go func() {
		_, err := d.Write(ctx, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tbl,
			Rows: []sink.Row{contact(1, "a@x.io"), contact(2, "b@x.io")}, Checkpoint: &sink.Checkpoint{Watermark: "w1"}})
		done <- err
	}()
	pid := waitForBlocked(t, admin)
	if _, err := admin.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the retry queues behind the blocker again
	blocker.Rollback(context.Background())
	if err := <-done; err != nil {
		t.Fatalf("Write after its connection dropped: %v", err)
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts"); n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
	if n := count(t, admin, "SELECT count(*) FROM crmsync_state WHERE watermark = 'w1'"); n != 1 {
		t.Errorf("the checkpoint did not commit with the batch")
	}
	if !strings.Contains(logs.String(), "writing it again") {
		t.Errorf("no log line says the batch was written again:\n%s", logs.String())
	}
}

// TestLockWaitIsLoggedAndTimesOut: a table locked by another session
// makes the batch say who blocks it while it waits, and lock_timeout
// ends the wait with an error that says what to do.
func TestLockWaitIsLoggedAndTimesOut(t *testing.T) {
	defer func(e time.Duration) { waitLogEvery = e }(waitLogEvery)
	waitLogEvery = 100 * time.Millisecond
	base, _ := openTest(t)
	d, err := Open(context.Background(), withSchema(t, testDSN(t), base.schema)+"&lock_timeout=1500ms")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	blocker := holdTableLock(t, d, tbl.Name)
	defer blocker.Rollback(context.Background())
	var logs syncBuffer
	ctx := sink.WithLogger(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
	_, err = d.Write(ctx, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tbl, Rows: []sink.Row{contact(1, "a@x.io")}})
	if err == nil || !strings.Contains(err.Error(), "lock_timeout") {
		t.Fatalf("Write against a table locked elsewhere: %v, want the lock_timeout error", err)
	}
	out := logs.String()
	if !strings.Contains(out, "waited") || !strings.Contains(out, "crmsync test blocker") {
		t.Errorf("the wait was not logged with its blocker:\n%s", out)
	}
}
