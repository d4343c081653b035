package runner

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
)

// TestTimeWindows: the windows of a plan tile [incremental.start, now)
// in whole seconds, also over a century (no overflow), with
// partition_every the last one is cut at now, and too many windows or a
// start after now are errors naming the entity.
func TestTimeWindows(t *testing.T) {
	now := time.Date(2026, 12, 4, 20, 0, 0, 500, time.UTC)
	for _, c := range []struct {
		name, start string
		n           int
		every       time.Duration
		want        int
		err         string
	}{
		{"4 over a month", "2026-11-04", 4, 0, 4, ""},
		{"1024 over a century", "1926-01-01", 1024, 0, 1024, ""},
		{"more windows than seconds", "2026-12-04T19:59:57Z", 10, 0, 3, ""},
		{"every 7d over 30 days", "2026-11-04T20:00:00Z", 0, 7 * 24 * time.Hour, 5, ""},
		{"every exactly", "2026-11-06T20:00:00Z", 0, 7 * 24 * time.Hour, 4, ""},
		{"every too short", "1926-01-01", 0, time.Hour, 0, "at most 1024"},
		{"start after now", "2027-01-01", 4, 0, 0, "is not before the sync's start"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := &pipeline.Entity{Name: "calls", Windows: true, Partitions: c.n, PartitionEvery: c.every, Incremental: &pipeline.Incremental{Start: c.start}}
			ws, err := timeWindows(e, now)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), `"calls"`) {
					t.Fatalf("got %v, want an error naming the entity and containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ws) != c.want {
				t.Fatalf("%d windows, want %d", len(ws), c.want)
			}
			start, _ := pipeline.ParseWatermarkTime(c.start)
			if ws[0].Lo != start.Format(time.RFC3339) || ws[len(ws)-1].Hi != now.Truncate(time.Second).Format(time.RFC3339) {
				t.Errorf("windows run from %s to %s, want %s to %s", ws[0].Lo, ws[len(ws)-1].Hi, start.Format(time.RFC3339), now.Truncate(time.Second).Format(time.RFC3339))
			}
			for i, w := range ws {
				lo, err1 := time.Parse(time.RFC3339, w.Lo)
				hi, err2 := time.Parse(time.RFC3339, w.Hi)
				if err1 != nil || err2 != nil || !lo.Before(hi) {
					t.Errorf("window %d [%s, %s) is not a span of time", i, w.Lo, w.Hi)
				}
				if i > 0 && w.Lo != ws[i-1].Hi {
					t.Errorf("window %d starts %s, the one before ends %s", i, w.Lo, ws[i-1].Hi)
				}
				if c.every > 0 && i < len(ws)-1 && hi.Sub(lo) != c.every {
					t.Errorf("window %d is %s long, want %s", i, hi.Sub(lo), c.every)
				}
			}
		})
	}
}
