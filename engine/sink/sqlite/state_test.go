package sqlite

import (
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

func TestHistory(t *testing.T) {
	d, _ := openTemp(t)
	start := time.Date(2024, 6, 1, 10, 0, 0, 0, time.UTC)
	s := &sink.Sync{Pipeline: "crm", Entity: "contacts", PlanHash: "abc", StartedAt: start}
	id, err := d.StartSync(ctx, s)
	if err != nil || id == 0 || s.ID != id {
		t.Fatalf("StartSync: %d %v (s.ID %d)", id, err, s.ID)
	}
	running, err := d.History(ctx, sink.Filter{})
	if err != nil || len(running) != 1 || running[0].Status != sink.StatusRunning || !running[0].FinishedAt.IsZero() {
		t.Fatalf("running: %+v %v", running, err)
	}
	*s = sink.Sync{ID: id, Pipeline: "crm", Entity: "contacts", PlanHash: "abc", StartedAt: start,
		FinishedAt: start.Add(90 * time.Second), Status: sink.StatusPartial,
		Processed: 100, Created: 10, Updated: 20, Unchanged: 60, Failed: 1, Filtered: 5, Rejected: 4,
		APICalls: 3, Retries: 2, ValidationErrors: 6, ProcessingErrors: 1,
		Duration: 90 * time.Second, RecordsPerSecond: 1.5, SuccessRate: 0.95, Errors: []string{"page 3: 500", "record 7: bad"}}
	if err := d.FinishSync(ctx, s); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartSync(ctx, &sink.Sync{Pipeline: "crm", Entity: "deals"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StartSync(ctx, &sink.Sync{Pipeline: "other", Entity: "contacts"}); err != nil {
		t.Fatal(err)
	}
	all, err := d.History(ctx, sink.Filter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("all: %d %v", len(all), err)
	}
	if all[0].Pipeline != "other" || all[2].ID != id {
		t.Errorf("not newest first: %+v", all)
	}
	got, err := d.History(ctx, sink.Filter{Pipeline: "crm", Entity: "contacts"})
	if err != nil || len(got) != 1 {
		t.Fatalf("filtered: %+v %v", got, err)
	}
	if !reflect.DeepEqual(got[0], *s) {
		t.Errorf("round trip:\ngot  %+v\nwant %+v", got[0], *s)
	}
	if got, _ := d.History(ctx, sink.Filter{Pipeline: "crm", Limit: 1}); len(got) != 1 || got[0].Entity != "deals" {
		t.Errorf("limit: %+v", got)
	}
	if err := d.FinishSync(ctx, &sink.Sync{ID: 999, Pipeline: "crm", Entity: "x", Status: sink.StatusFailed}); err == nil {
		t.Error("finishing an unknown sync succeeded")
	}
}

func TestMarkInterrupted(t *testing.T) {
	d, path := openTemp(t)
	other, err := Open(ctx, "sqlite:"+path) // another run, alive, with its own token
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	start := func(db *DB, entity string) int64 {
		id, err := db.StartSync(ctx, &sink.Sync{Pipeline: "crm", Entity: entity})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	mine := start(d, "contacts")                   // this handle's own run
	unlock, err := other.Lock(ctx, "crm", "deals") // a live run elsewhere
	if err != nil {
		t.Fatal(err)
	}
	live := start(other, "deals")
	orphan := start(other, "notes") // its process holds no lock: dead
	crashed := start(other, "calls")
	// calls: the lock row of a crashed process on this host.
	if _, err := d.w.ExecContext(ctx, `INSERT INTO crmsync_locks VALUES ('crm', 'calls', 999999999, ?, ?, ?, ?)`,
		d.hostname, other.token, formatTime(time.Now()), formatTime(time.Now())); err != nil {
		t.Fatal(err)
	}
	finished := start(other, "tasks")
	if err := other.FinishSync(ctx, &sink.Sync{ID: finished, Pipeline: "crm", Entity: "tasks", Status: sink.StatusSuccess}); err != nil {
		t.Fatal(err)
	}

	if n, err := d.MarkInterrupted(ctx, "crm", "notes"); err != nil || n != 1 {
		t.Errorf("one entity: %d %v", n, err)
	}
	if n, err := d.MarkInterrupted(ctx, "", ""); err != nil || n != 1 {
		t.Errorf("all entities: %d %v, want 1 (calls)", n, err)
	}
	status := map[int64]string{}
	hist, _ := d.History(ctx, sink.Filter{})
	for _, s := range hist {
		status[s.ID] = s.Status
		if s.Status == sink.StatusInterrupted && s.FinishedAt.IsZero() {
			t.Errorf("sync %d interrupted without a finish time", s.ID)
		}
	}
	want := map[int64]string{mine: "running", live: "running", orphan: "interrupted", crashed: "interrupted", finished: "success"}
	if !reflect.DeepEqual(status, want) {
		t.Errorf("statuses: %v, want %v", status, want)
	}

	// Once the live run's process is gone (here: it unlocks and closes), its row is interrupted too.
	unlock()
	other.Close()
	if n, _ := d.MarkInterrupted(ctx, "crm", "deals"); n != 1 {
		t.Errorf("after the holder ended: %d, want 1", n)
	}
}
