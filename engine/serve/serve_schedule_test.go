package serve

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/schedule"
)

// TestNextRun: when an entity runs next after a run that started at
// start and ended at end. Jitter adds up to a tenth of the interval
// (at most 10s), so each case gives the earliest time and the jitter room.
func TestNextRun(t *testing.T) {
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		schedule string
		took     time.Duration
		failures int
		want     time.Time
		jitter   time.Duration
	}{
		{"interval: next tick", "every 15m", time.Minute, 0, start.Add(15 * time.Minute), 10 * time.Second},
		{"a run that outlasts its interval delays the next, which starts at once", "every 1m", 3 * time.Minute, 0, start.Add(3 * time.Minute), 0},
		{"a first failure retries at the next tick", "every 10s", time.Second, 1, start.Add(10 * time.Second), time.Second},
		{"two failures in a row double the wait", "every 10s", time.Second, 2, start.Add(20 * time.Second), time.Second},
		{"five failures: sixteen intervals", "every 10s", time.Second, 5, start.Add(160 * time.Second), time.Second},
		{"the back-off is capped at an hour", "every 10m", time.Second, 9, start.Add(time.Hour), 10 * time.Second},
		{"a schedule longer than the cap keeps its own interval", "every 2h", time.Second, 4, start.Add(2 * time.Hour), 10 * time.Second},
		{"cron: the next matching minute", "*/5 * * * *", time.Minute, 0, start.Add(5 * time.Minute), 10 * time.Second},
		{"cron in a zone", "CRON_TZ=America/New_York 30 6 * * *", time.Minute, 0, time.Date(2025, 3, 1, 11, 30, 0, 0, time.UTC), 10 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sch, err := schedule.Parse(c.schedule)
			if err != nil {
				t.Fatal(err)
			}
			j := &job{sched: sch, schedText: c.schedule, failures: c.failures}
			for range 20 { // jitter is random: look at several draws
				got := j.after(start, start.Add(c.took), time.Hour)
				if got.Before(c.want) || got.After(c.want.Add(c.jitter)) {
					t.Fatalf("next run %s, want %s (+ up to %s jitter)", got, c.want, c.jitter)
				}
			}
		})
	}
}

// TestFirstRun: an interval runs when loaded, a cron schedule at its
// time, no schedule never.
func TestFirstRun(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 2, 0, 0, time.UTC)
	for _, c := range []struct {
		schedule string
		want     time.Time
		jitter   time.Duration
	}{
		{"every 1h", now, 10 * time.Second},
		{"every 10s", now, time.Second},
		{"0 * * * *", time.Date(2025, 3, 1, 11, 0, 0, 0, time.UTC), 10 * time.Second},
		{"", time.Time{}, 0},
	} {
		j := &job{schedText: c.schedule}
		if c.schedule != "" {
			j.sched, _ = schedule.Parse(c.schedule)
		}
		got := j.first(now)
		if got.Before(c.want) || got.After(c.want.Add(c.jitter)) {
			t.Errorf("%q: first run %s, want %s (+ up to %s)", c.schedule, got, c.want, c.jitter)
		}
	}
}
