package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/serve"
	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/sqlite"
)

// riverInterval is the schedule of the River tests: short, so that a
// few tens of seconds hold enough ticks to count.
const riverInterval = 2 * time.Second

// tickRange is how many ticks of riverInterval fit in a window, ±1 at
// the edges: each tick is stretched by up to a tenth of the interval of
// jitter, and a newly elected leader queues an interval entity at once.
func tickRange(window time.Duration) (lo, hi int) {
	lo = int(window/(riverInterval+riverInterval/10)) - 1
	hi = int(window/riverInterval) + 1
	return lo, hi
}

// syncsIn returns the finished syncs of an entity that started in
// [from, to), and fails the test if any two of its syncs overlapped.
func syncsIn(t *testing.T, dest sink.Destination, pipeline, entity string, from, to time.Time) int {
	t.Helper()
	hist, err := dest.History(context.Background(), sink.Filter{Pipeline: pipeline, Entity: entity, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(hist, func(a, b sink.Sync) int { return a.StartedAt.Compare(b.StartedAt) })
	n := 0
	for i, h := range hist {
		if i > 0 && !hist[i-1].FinishedAt.IsZero() && hist[i-1].FinishedAt.After(h.StartedAt) {
			t.Errorf("%s %s: sync %d started at %s while sync %d ran (until %s)", pipeline, entity, h.ID,
				h.StartedAt.Format(time.StampMilli), hist[i-1].ID, hist[i-1].FinishedAt.Format(time.StampMilli))
		}
		if h.Status == sink.StatusFailed {
			t.Errorf("%s %s: sync %d failed: %v", pipeline, entity, h.ID, h.Errors)
		}
		if !h.StartedAt.Before(from) && h.StartedAt.Before(to) && h.Status != sink.StatusRunning {
			n++
		}
	}
	return n
}

func leaderOf(t *testing.T, procs []*serveProc) []*serveProc {
	t.Helper()
	var out []*serveProc
	for _, p := range procs {
		fams, _ := p.metrics()
		if v, _ := sample(fams, "crmsync_leader", nil); v == 1 {
			out = append(out, p)
		}
	}
	return out
}

// TestServeRiverReplicasOncePerTick: three serve replicas against one
// PostgreSQL, entities every 2 s. The history holds one sync per entity
// per tick (not one per replica per tick), never two at once; killing
// the leader (SIGKILL) elects another and the schedules go on, again
// once per tick.
func TestServeRiverReplicasOncePerTick(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about a minute")
	}
	t.Parallel()
	dsn, _ := servePostgres(t)
	crm := newServeCRM(t, 20, 10, 20*time.Millisecond)
	entities := []string{"a", "b", "c"}
	dir := t.TempDir()
	writeFileAtomic(t, filepath.Join(dir, "tick.yaml"),
		crmPipeline{name: "tick", url: crm.URL, schedule: "every 2s", entities: entities, incremental: true}.String())
	var replicas []*serveProc
	for range 3 {
		replicas = append(replicas, startServe(t, nil, "--dir", dir, "--dest", dsn, "--addr", "127.0.0.1:0", "--stuck-after", "4s"))
	}
	for _, r := range replicas {
		r.listening()
	}
	dest, err := sink.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	waitFor(t, 30*time.Second, "every entity should sync once", func() bool {
		for _, e := range entities {
			if h, _ := dest.History(context.Background(), sink.Filter{Pipeline: "tick", Entity: e, Limit: 1}); len(h) == 0 || h[0].Status != sink.StatusSuccess {
				return false
			}
		}
		return true
	})
	var leader *serveProc
	waitFor(t, 10*time.Second, "one replica should lead", func() bool {
		l := leaderOf(t, replicas)
		if len(l) == 1 {
			leader = l[0]
		}
		return len(l) == 1
	})

	// Phase 1: three replicas, one sync per entity per tick.
	t0 := time.Now()
	time.Sleep(14 * time.Second)
	t1 := time.Now()
	lo, hi := tickRange(t1.Sub(t0))
	for _, e := range entities {
		n := syncsIn(t, dest, "tick", e, t0, t1)
		t.Logf("%s: %d syncs in %s with 3 replicas (want %d..%d)", e, n, t1.Sub(t0).Round(time.Millisecond), lo, hi)
		if n < lo || n > hi {
			t.Errorf("%s: %d syncs in %s, want %d..%d: one per tick", e, n, t1.Sub(t0).Round(time.Second), lo, hi)
		}
	}
	ran := 0
	for _, r := range replicas {
		if len(r.logLines("Completed tick")) > 0 {
			ran++
		}
	}
	t.Logf("%d of 3 replicas ran syncs", ran)

	// Phase 2: kill the leader while it runs nothing (so that no job of
	// it waits for the rescuer); another is elected within River's
	// leadership TTL and the ticks go on.
	waitFor(t, 10*time.Second, "the leader should be idle", func() bool {
		for _, e := range entities {
			if es := entityOf(leader.status(), "tick", e); es == nil || es.Running != nil {
				return false
			}
		}
		return true
	})
	leader.cmd.Process.Kill()
	leader.wait(5 * time.Second)
	killed := time.Now()
	var survivors []*serveProc
	for _, r := range replicas {
		if r != leader {
			survivors = append(survivors, r)
		}
	}
	var next *serveProc
	waitFor(t, 40*time.Second, "a survivor should take the lead", func() bool {
		l := leaderOf(t, survivors)
		if len(l) == 1 {
			next = l[0]
		}
		return len(l) == 1
	})
	t2 := time.Now()
	t.Logf("leadership moved in %s", t2.Sub(killed).Round(100*time.Millisecond))
	time.Sleep(10 * time.Second)
	t3 := time.Now()
	lo, hi = tickRange(t3.Sub(t2))
	for _, e := range entities {
		n := syncsIn(t, dest, "tick", e, t2, t3)
		t.Logf("%s: %d syncs in %s after the new leader (want %d..%d)", e, n, t3.Sub(t2).Round(time.Millisecond), lo, hi)
		if n < lo || n > hi {
			t.Errorf("%s: %d syncs in %s after the leader moved, want %d..%d", e, n, t3.Sub(t2).Round(time.Second), lo, hi)
		}
		if m := crm.mostAtOnce(e); m != 1 {
			t.Errorf("%s: %d requests in flight at once: two replicas synced it together", e, m)
		}
	}
	_ = next
	for _, r := range survivors {
		r.signal(syscall.SIGTERM)
	}
	for _, r := range survivors {
		if code := r.wait(20 * time.Second); code != 0 {
			t.Fatalf("a replica exited %d after SIGTERM", code)
		}
		if errs := r.logLines(`"level":"ERROR"`); len(errs) > 0 {
			t.Errorf("a replica logged errors: %q", errs)
		}
	}
}

// TestServeRiverSQLite: one serve process on the SQLite destination
// schedules through River too, its tables in the same file, one sync
// per entity per tick.
func TestServeRiverSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for about 20 seconds")
	}
	t.Parallel()
	crm := newServeCRM(t, 20, 10, 20*time.Millisecond)
	entities := []string{"a", "b"}
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "crmsync.db")
	writeFileAtomic(t, filepath.Join(dir, "tick.yaml"),
		crmPipeline{name: "tick", url: crm.URL, schedule: "every 2s", entities: entities, incremental: true}.String())
	p := startServe(t, nil, "--dir", dir, "--dest", "sqlite:"+file, "--addr", "127.0.0.1:0").listening()
	dest, err := sink.Open(context.Background(), "sqlite:"+file)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	waitFor(t, 20*time.Second, "every entity should sync once", func() bool {
		for _, e := range entities {
			if h, _ := dest.History(context.Background(), sink.Filter{Pipeline: "tick", Entity: e, Limit: 1}); len(h) == 0 || h[0].Status != sink.StatusSuccess {
				return false
			}
		}
		return true
	})
	waitFor(t, 10*time.Second, "the only replica should lead", func() bool { return len(leaderOf(t, []*serveProc{p})) == 1 })
	t0 := time.Now()
	time.Sleep(12 * time.Second)
	t1 := time.Now()
	lo, hi := tickRange(t1.Sub(t0))
	for _, e := range entities {
		n := syncsIn(t, dest, "tick", e, t0, t1)
		t.Logf("%s: %d syncs in %s (want %d..%d)", e, n, t1.Sub(t0).Round(time.Millisecond), lo, hi)
		if n < lo || n > hi {
			t.Errorf("%s: %d syncs in %s, want %d..%d", e, n, t1.Sub(t0).Round(time.Second), lo, hi)
		}
	}
	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM", code)
	}
	if errs := p.logLines(`"level":"ERROR"`); len(errs) > 0 {
		t.Errorf("serve logged errors: %q", errs)
	}
	// River's tables are in the destination file.
	db, err := sql.Open("sqlite", file+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var jobs int
	if err := db.QueryRow("SELECT count(*) FROM river_job WHERE kind = 'crmsync_sync'").Scan(&jobs); err != nil {
		t.Fatalf("River's job table in %s: %v", file, err)
	}
	if jobs == 0 {
		t.Error("no sync job in River's table")
	}
}

// postAPI sends an operator API request to a serve process.
func (p *serveProc) postAPI(path, token string) (int, map[string]any) {
	p.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+p.addr+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestServeAdminAcrossReplicas: two replicas on one PostgreSQL with the
// operator token from the environment. A run-now sent to either syncs
// once; a pause sent to one holds on the other; resume ends it; no
// token, no change.
func TestServeAdminAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn, _ := servePostgres(t)
	crm := newServeCRM(t, 10, 10, 10*time.Millisecond)
	dir := t.TempDir()
	writeFileAtomic(t, filepath.Join(dir, "ops.yaml"),
		crmPipeline{name: "ops", url: crm.URL, schedule: "every 1h", entities: []string{"a", "b"}}.String())
	const token = "replica-token-0123456789"
	env := []string{"CRMSYNC_ADMIN_TOKEN=" + token}
	r1 := startServe(t, env, "--dir", dir, "--dest", dsn, "--addr", "127.0.0.1:0").listening()
	r2 := startServe(t, env, "--dir", dir, "--dest", dsn, "--addr", "127.0.0.1:0").listening()
	waitFor(t, 30*time.Second, "a and b should sync once on load", func() bool {
		return len(crm.syncsOf("a")) == 1 && len(crm.syncsOf("b")) == 1
	})
	skippedPaused := func() float64 {
		var n float64
		for _, r := range []*serveProc{r1, r2} {
			fams, _ := r.metrics()
			v, _ := sample(fams, "crmsync_syncs_skipped_total", map[string]string{"entity": "a", "reason": "paused"})
			n += v
		}
		return n
	}

	if code, _ := r1.postAPI("/api/run?pipeline=ops&entity=a", ""); code != http.StatusUnauthorized {
		t.Errorf("run without the token: %d, want 401", code)
	}
	// The load's job may not be marked completed yet: a run-now is then
	// a duplicate of it (ok, nothing queued).
	waitFor(t, 10*time.Second, "run-now should queue a job", func() bool {
		code, body := r2.postAPI("/api/run?pipeline=ops&entity=a", token)
		if code != http.StatusOK {
			t.Fatalf("run: %d %v", code, body)
		}
		return body["duplicate"] != true
	})
	waitFor(t, 10*time.Second, "run-now should sync a once", func() bool { return len(crm.syncsOf("a")) == 2 })

	if code, body := r1.postAPI("/api/pause?pipeline=ops", token); code != http.StatusOK {
		t.Fatalf("pause: %d %v", code, body)
	}
	waitFor(t, 5*time.Second, "the other replica should show the pause", func() bool {
		e := entityOf(r2.status(), "ops", "a")
		return e != nil && e.State == serve.StatePaused
	})
	waitFor(t, 10*time.Second, "a run-now of a paused entity should be skipped", func() bool {
		code, body := r2.postAPI("/api/run?pipeline=ops&entity=a", token)
		return code == http.StatusOK && body["duplicate"] != true
	})
	waitFor(t, 10*time.Second, "the skipped tick should be counted", func() bool { return skippedPaused() == 1 })
	if n := len(crm.syncsOf("a")); n != 2 {
		t.Errorf("a synced while paused (%d syncs)", n)
	}

	// Resume and trigger from the command line.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errs strings.Builder
	if code := run([]string{"resume", "--addr", r2.addr, "--admin-token", "file:" + tokenFile, "ops"}, &out, &errs); code != 0 {
		t.Fatalf("crmsync resume: exit %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "ops: resumed") {
		t.Errorf("crmsync resume printed %q", out.String())
	}
	waitFor(t, 10*time.Second, "crmsync trigger after resume should sync a", func() bool {
		if len(crm.syncsOf("a")) == 3 {
			return true
		}
		out.Reset()
		if code := run([]string{"trigger", "--addr", r1.addr, "--admin-token", "file:" + tokenFile, "ops", "a"}, &out, &errs); code != 0 {
			t.Fatalf("crmsync trigger: exit %d: %s", code, errs.String())
		}
		time.Sleep(300 * time.Millisecond)
		return len(crm.syncsOf("a")) == 3
	})
	if code := run([]string{"trigger", "--addr", r1.addr, "--admin-token", "env:CRMSYNC_TEST_NO_SUCH_VARIABLE", "ops", "a"}, &out, &errs); code != exitUsage {
		t.Errorf("crmsync trigger without a token: exit %d, want %d", code, exitUsage)
	}
	for _, r := range []*serveProc{r1, r2} {
		if ls := r.logLines("Operator: "); len(ls) == 0 {
			t.Error("a replica did not log the operator's requests")
		}
	}
}
