package postgres

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

func TestHistory(t *testing.T) {
	d, _ := openTest(t)
	ctx := context.Background()
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	a := &sink.Sync{Pipeline: "crm", Entity: "contacts", PlanHash: "h1", StartedAt: start}
	id, err := d.StartSync(ctx, a)
	if err != nil || id == 0 || a.ID != id {
		t.Fatalf("StartSync: %d, %v", id, err)
	}
	b := &sink.Sync{Pipeline: "crm", Entity: "deals", StartedAt: start.Add(time.Minute)}
	if _, err := d.StartSync(ctx, b); err != nil {
		t.Fatal(err)
	}
	running, _ := d.History(ctx, sink.Filter{Entity: "contacts"})
	if len(running) != 1 || running[0].Status != sink.StatusRunning || !running[0].FinishedAt.IsZero() || !running[0].StartedAt.Equal(start) {
		t.Fatalf("running sync: %+v", running)
	}
	a.FinishedAt = start.Add(90 * time.Second)
	a.Status = sink.StatusPartial
	a.Processed, a.Created, a.Updated, a.Unchanged, a.Failed, a.Filtered, a.Rejected = 10, 3, 2, 1, 4, 5, 6
	a.APICalls, a.Retries, a.ValidationErrors, a.ProcessingErrors = 7, 8, 9, 11
	a.Duration, a.RecordsPerSecond, a.SuccessRate = 90*time.Second, 0.111, 0.6
	a.Errors = []string{"page 3: timeout", "record 12: bad date"}
	if err := d.FinishSync(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := d.History(ctx, sink.Filter{})
	if err != nil || len(got) != 2 {
		t.Fatalf("History: %+v, %v", got, err)
	}
	if got[0].Entity != "deals" {
		t.Errorf("history is not newest first: %s then %s", got[0].Entity, got[1].Entity)
	}
	h := got[1]
	want := *a
	if !h.StartedAt.Equal(want.StartedAt) || !h.FinishedAt.Equal(want.FinishedAt) {
		t.Errorf("times %v–%v, want %v–%v", h.StartedAt, h.FinishedAt, want.StartedAt, want.FinishedAt)
	}
	h.StartedAt, h.FinishedAt, want.StartedAt, want.FinishedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if strings.Join(h.Errors, "|") != strings.Join(want.Errors, "|") {
		t.Errorf("errors %q, want %q", h.Errors, want.Errors)
	}
	h.Errors, want.Errors = nil, nil
	if !reflect.DeepEqual(h, want) {
		t.Errorf("history row\n got %+v\nwant %+v", h, want)
	}
	if l, _ := d.History(ctx, sink.Filter{Pipeline: "crm", Limit: 1}); len(l) != 1 || l[0].Entity != "deals" {
		t.Errorf("limited history: %+v", l)
	}
	if l, _ := d.History(ctx, sink.Filter{Pipeline: "other"}); len(l) != 0 {
		t.Errorf("history of another pipeline: %+v", l)
	}
	if err := d.FinishSync(ctx, &sink.Sync{ID: 99999, Status: sink.StatusSuccess}); err == nil {
		t.Error("FinishSync of an unknown id succeeded")
	}
}

func TestLock(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	unlock, err := d.Lock(ctx, "crm", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	// Another process (another DB on the same schema) cannot take it.
	other, err := Open(ctx, withSchema(t, testDSN(t), d.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.Lock(ctx, "crm", "contacts")
	if !errors.Is(err, sink.ErrLocked) || !strings.Contains(err.Error(), `entity "contacts"`) {
		t.Fatalf("second Lock: %v, want ErrLocked naming the entity", err)
	}
	// Other entities are free.
	u2, err := other.Lock(ctx, "crm", "deals")
	if err != nil {
		t.Fatalf("Lock of another entity: %v", err)
	}
	u2()
	unlock()
	unlock() // twice is harmless
	u3, err := other.Lock(ctx, "crm", "contacts")
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	// The holder's session dies (a killed process): the lock frees itself.
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = ($1::bigint & x'ffffffff'::bigint)::oid AND granted`,
		other.lockKey("crm", "contacts")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		u4, err := d.Lock(ctx, "crm", "contacts")
		if err == nil {
			u4()
			break
		}
		if !errors.Is(err, sink.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("Lock after the holder died: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	u3() // unlocking a dead session does not panic
}

func TestMarkInterrupted(t *testing.T) {
	d, _ := openTest(t)
	ctx := context.Background()
	// A crashed process left two running rows, one of them in another entity.
	dead, err := Open(ctx, withSchema(t, testDSN(t), d.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	deadID, _ := dead.StartSync(ctx, &sink.Sync{Pipeline: "crm", Entity: "contacts"})
	dead.StartSync(ctx, &sink.Sync{Pipeline: "crm", Entity: "deals"})
	dead.Close()

	// A live run in another process holds "deals".
	live, err := Open(ctx, withSchema(t, testDSN(t), d.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	unlockLive, err := live.Lock(ctx, "crm", "deals")
	if err != nil {
		t.Fatal(err)
	}
	defer unlockLive()
	liveID, _ := live.StartSync(ctx, &sink.Sync{Pipeline: "crm", Entity: "deals"})

	// This process runs contacts: it holds the lock and has started its own sync.
	unlock, err := d.Lock(ctx, "crm", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	ownID, _ := d.StartSync(ctx, &sink.Sync{Pipeline: "crm", Entity: "contacts"})
	n, err := d.MarkInterrupted(ctx, "crm", "contacts")
	if err != nil || n != 1 {
		t.Fatalf("MarkInterrupted(contacts) = %d, %v; want 1", n, err)
	}
	status := func(id int64) string {
		h, _ := d.History(ctx, sink.Filter{})
		for _, s := range h {
			if s.ID == id {
				return s.Status
			}
		}
		return "missing"
	}
	if s := status(deadID); s != sink.StatusInterrupted {
		t.Errorf("dead sync is %s", s)
	}
	if s := status(ownID); s != sink.StatusRunning {
		t.Errorf("own live sync is %s", s)
	}
	unlock()
	// All entities: the dead deals row is held by the live run's lock, so
	// nothing of deals changes, even though the live process is elsewhere.
	if n, err := d.MarkInterrupted(ctx, "", ""); err != nil || n != 0 {
		t.Errorf("MarkInterrupted(all) while deals is locked = %d, %v; want 0", n, err)
	}
	if s := status(liveID); s != sink.StatusRunning {
		t.Errorf("the live run's sync is %s", s)
	}
	unlockLive()
	if n, err := d.MarkInterrupted(ctx, "crm", ""); err != nil || n != 2 {
		t.Errorf("MarkInterrupted(crm) after the live run ended = %d, %v; want 2 (the dead and the abandoned deals rows)", n, err)
	}
	h, _ := d.History(ctx, sink.Filter{Entity: "contacts"})
	for _, s := range h {
		if s.ID == deadID && (s.FinishedAt.IsZero() || len(s.Errors) != 1) {
			t.Errorf("interrupted row %+v has no end or no explanation", s)
		}
	}
}
