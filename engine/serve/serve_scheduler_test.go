package serve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestLimits: an entity never runs twice at once (a sync longer than its
// interval delays the next instead of stacking), and the per-pipeline
// and global limits hold. The CRM counts requests in flight; one sync
// sends one at a time, so two in flight for one entity are two syncs.
func TestLimits(t *testing.T) {
	cases := []struct {
		name                    string
		maxConcurrent, parallel int
		pipelines               map[string][]string
		delay                   time.Duration // per page; 3 pages a sync
		wantMax                 int           // requests in flight at most, over all
	}{
		{"a sync longer than its 1s interval does not stack", 8, 4, map[string][]string{"slow": {"a"}}, 450 * time.Millisecond, 1},
		{"per pipeline", 8, 2, map[string][]string{"wide": {"a", "b", "c"}}, 150 * time.Millisecond, 2},
		{"global", 1, 4, map[string][]string{"p1": {"a", "b"}, "p2": {"c", "d"}}, 60 * time.Millisecond, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := newCRM(t, 30, 10, c.delay)
			dir := t.TempDir()
			var all []string
			for name, ents := range c.pipelines {
				writeAtomic(t, filepath.Join(dir, name+".yaml"), httpPipeline(name, srv.URL, "every 1s", ents...))
				all = append(all, ents...)
			}
			s, _ := newScheduler(t, dir, Options{MaxConcurrent: c.maxConcurrent, Parallel: c.parallel})
			if p := s.Reload(true); len(p) > 0 {
				t.Fatal(p)
			}
			runScheduler(t, s)
			eventually(t, 15*time.Second, "every entity should sync twice", func() bool {
				for _, e := range all {
					if len(srv.syncsOf(e)) < 2 {
						return false
					}
				}
				return true
			})
			srv.mu.Lock()
			defer srv.mu.Unlock()
			for _, e := range all {
				if srv.maxActive[e] != 1 {
					t.Errorf("entity %s had %d syncs at once", e, srv.maxActive[e])
				}
			}
			if srv.maxTotal != c.wantMax {
				t.Errorf("%d requests were in flight at once, want %d", srv.maxTotal, c.wantMax)
			}
		})
	}
}

// TestFailuresBackOff: a failing entity is retried at the next tick,
// then waits longer and longer, and shows on the status page; the other
// pipeline keeps its schedule; once the source heals, the state clears.
func TestFailuresBackOff(t *testing.T) { testFailuresBackOff(t, false) }

// TestQueueFailuresBackOff: the same through River, where the failures
// in a row are counted from the destination's history and a tick that
// comes before the back-off is over is skipped.
func TestQueueFailuresBackOff(t *testing.T) { testFailuresBackOff(t, true) }

func testFailuresBackOff(t *testing.T, queued bool) {
	t.Parallel()
	srv := newCRM(t, 3, 10, 0)
	srv.setFailing("broken", true)
	dir := t.TempDir()
	writeAtomic(t, filepath.Join(dir, "bad.yaml"), httpPipeline("bad", srv.URL, "every 1s", "broken"))
	writeAtomic(t, filepath.Join(dir, "good.yaml"), httpPipeline("good", srv.URL, "every 1s", "fine"))
	s, _ := newScheduler(t, dir, Options{MaxBackoff: 2 * time.Second})
	s.Reload(true)
	minGap := 2 * time.Second
	if queued {
		if err := s.OpenQueue(context.Background()); err != nil {
			t.Fatal(err)
		}
		minGap -= time.Second / 4 // a tick up to a quarter interval early runs
	}
	runScheduler(t, s)
	eventually(t, 10*time.Second, "the failing entity should be tried three times", func() bool { return len(srv.syncsOf("broken")) >= 3 })
	tries := srv.syncsOf("broken")
	if gap := tries[2].Sub(tries[1]); gap < minGap {
		t.Errorf("after two failures in a row the next try came %s later, want at least twice the 1s interval", gap)
	}
	eventually(t, 5*time.Second, "the healthy pipeline should keep its schedule: a failure must not stop the others",
		func() bool { return len(srv.syncsOf("fine")) >= 3 })
	// Between two tries the failing entity backs off (at a try it runs).
	var e *EntityStatus
	eventually(t, 10*time.Second, "the failing entity should be backing off between tries", func() bool {
		e = entityStatus(getStatus(t, s), "bad", "broken")
		return e != nil && e.State == StateBackingOff
	})
	if e.ConsecutiveFailures < 2 || !strings.Contains(e.LastError, "status 400") ||
		e.LastRun == nil || e.LastRun.Status != sink.StatusFailed {
		t.Fatalf("status of the failing entity: %+v", e)
	}
	if v, _ := metricValue(t, s.Metrics().Registry, "crmsync_consecutive_failures", map[string]string{"pipeline": "bad", "entity": "broken"}); v < 2 {
		t.Errorf("crmsync_consecutive_failures = %v", v)
	}
	if v, _ := metricValue(t, s.Metrics().Registry, "crmsync_syncs_total", map[string]string{"pipeline": "bad", "status": "failed"}); v < 3 {
		t.Errorf("crmsync_syncs_total{status=failed} = %v", v)
	}
	// Every try after the first followed a failure; the healthy entity never retried.
	if v, _ := metricValue(t, s.Metrics().Registry, "crmsync_jobs_retried_total", map[string]string{"pipeline": "bad", "entity": "broken"}); v < 2 {
		t.Errorf("crmsync_jobs_retried_total{bad,broken} = %v, want at least 2", v)
	}
	if v, _ := metricValue(t, s.Metrics().Registry, "crmsync_jobs_retried_total", map[string]string{"pipeline": "good", "entity": "fine"}); v != 0 {
		t.Errorf("crmsync_jobs_retried_total{good,fine} = %v, want 0", v)
	}

	srv.setFailing("broken", false)
	eventually(t, 10*time.Second, "the healed entity should succeed", func() bool {
		e := entityStatus(getStatus(t, s), "bad", "broken")
		return e.State == StateIdle && e.ConsecutiveFailures == 0 && e.LastRun.Status == sink.StatusSuccess
	})
	// The last error stays for people to read, with its time.
	if e := entityStatus(getStatus(t, s), "bad", "broken"); e.LastError == "" || e.LastErrorAt == nil {
		t.Errorf("the last error was forgotten: %+v", e)
	}
}

// TestSwapBetweenRuns: a reload during a sync lets it finish on the plan
// it started with; the next sync uses the new plan. A file removed during
// a sync stops the schedule once that sync has finished.
func TestSwapBetweenRuns(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, 30, 10, 250*time.Millisecond)
	dir := t.TempDir()
	path := filepath.Join(dir, "crm.yaml")
	v1 := httpPipeline("crm", srv.URL, "every 1s", "items")
	writeAtomic(t, path, v1)
	s, _ := newScheduler(t, dir, Options{})
	s.Reload(true)
	h1 := pipelineHash(s, "crm")
	runScheduler(t, s)
	running := func() bool {
		e := entityStatus(getStatus(t, s), "crm", "items")
		return e != nil && e.State == StateRunning
	}
	eventually(t, 5*time.Second, "the first sync should start", running)

	v2 := strings.Replace(v1, "      name: name\n", "      name: name\n      tag: {expr: '\"v2\"'}\n", 1)
	writeAtomic(t, path, v2)
	s.Reload(false)
	h2 := pipelineHash(s, "crm")
	if h2 == h1 {
		t.Fatal("the edit did not change the plan")
	}
	eventually(t, 5*time.Second, "a second sync should start", func() bool { return len(srv.syncsOf("items")) >= 2 && running() })
	os.Remove(path)
	s.Reload(false)
	if e := entityStatus(getStatus(t, s), "crm", "items"); e == nil || e.State != StateStopping {
		t.Fatalf("a removed file's running entity: %+v", e)
	}
	eventually(t, 5*time.Second, "the entity should leave the status once its sync ends", func() bool { return len(getStatus(t, s).Pipelines) == 0 })
	time.Sleep(1500 * time.Millisecond) // more than the interval: no sync may start
	if n := len(srv.syncsOf("items")); n != 2 {
		t.Fatalf("%d syncs, want 2: a removed file's schedule must stop", n)
	}

	hist, err := s.o.Dest.History(context.Background(), sink.Filter{Pipeline: "crm", Entity: "items"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[1].PlanHash != h1 || hist[0].PlanHash != h2 || hist[0].Status != sink.StatusSuccess || hist[1].Status != sink.StatusSuccess {
		for _, h := range hist {
			t.Logf("sync %d: %s plan %s", h.ID, h.Status, h.PlanHash)
		}
		t.Fatalf("want the first sync on plan %s and the second on %s, both complete", h1, h2)
	}
}

// TestOnce: every entity runs exactly once, within the limits, and the
// results come back ordered.
func TestOnce(t *testing.T) {
	t.Parallel()
	srv := newCRM(t, 25, 10, 0)
	srv.setFailing("b", true)
	dir := t.TempDir()
	writeAtomic(t, filepath.Join(dir, "one.yaml"), httpPipeline("one", srv.URL, "", "b", "a"))
	writeAtomic(t, filepath.Join(dir, "two.yaml"), httpPipeline("two", srv.URL, "0 0 1 1 *", "c"))
	s, _ := newScheduler(t, dir, Options{MaxConcurrent: 2})
	s.Reload(true)
	res, err := s.Once(context.Background(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.Pipeline+"/"+r.Entity+":"+r.Status)
	}
	want := "one/a:success one/b:failed two/c:success"
	if strings.Join(got, " ") != want {
		t.Fatalf("results %v, want %s", got, want)
	}
	for _, e := range []string{"a", "b", "c"} {
		if n := len(srv.syncsOf(e)); n != 1 {
			t.Errorf("entity %s synced %d times", e, n)
		}
	}
}
