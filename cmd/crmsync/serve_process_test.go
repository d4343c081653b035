package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func writeFileAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// count runs a count query; a table not created yet counts 0.
func count(db *sql.DB, q string, args ...any) int {
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		return 0
	}
	return n
}

// TestServeProcess drives one real `crmsync serve` process through a
// day in its life: runs, an edit, a broken edit, a new file, a removed
// file, SIGHUP, the endpoints, and SIGTERM.
func TestServeProcess(t *testing.T) {
	t.Parallel()
	crm := newServeCRM(t, 25, 10, 0)
	dir, work := t.TempDir(), t.TempDir()
	dbPath := filepath.Join(work, "crm.db")
	secret := filepath.Join(work, "tag.txt")
	if err := os.WriteFile(secret, []byte("s3cret-one"), 0o600); err != nil {
		t.Fatal(err)
	}
	alpha := crmPipeline{name: "alpha", url: crm.URL, schedule: "every 1s", tag: "v1", entities: []string{"people"},
		sourceExtra: "  headers: {X-Tag: \"${file:" + secret + "}\"}\n"}
	a := filepath.Join(dir, "alpha.yaml")
	writeFileAtomic(t, a, alpha.String())
	p := startServe(t, nil, "--dir", dir, "--dest", "sqlite:"+dbPath, "--addr", "127.0.0.1:0").listening()
	db := openDB(t, dbPath)

	t.Log("runs on its schedule")
	waitFor(t, 10*time.Second, "the first sync should load 25 rows tagged v1", func() bool {
		return count(db, `SELECT count(*) FROM alpha_people WHERE tag = 'v1'`) == 25
	})
	done := p.waitLog(5*time.Second, "Completed alpha people sync")
	var line map[string]any
	if err := json.Unmarshal([]byte(done), &line); err != nil || line["pipeline"] != "alpha" || line["entity"] != "people" || line["sync_id"] == nil {
		t.Fatalf("a sync's log line lacks pipeline, entity or sync_id: %s", done)
	}
	h1 := pipelineOf(p.status(), "alpha").Hash

	t.Log("an edit takes effect at the next run")
	alpha.tag = "v2"
	writeFileAtomic(t, a, alpha.String())
	waitFor(t, 10*time.Second, "the edited plan should tag rows v2", func() bool {
		return count(db, `SELECT count(*) FROM alpha_people WHERE tag = 'v2'`) == 25
	})
	h2 := pipelineOf(p.status(), "alpha").Hash
	if h2 == h1 {
		t.Fatal("the status still shows the old plan")
	}

	t.Log("a broken edit keeps the old plan running and says where the problem is")
	broken := strings.Replace(alpha.String(), "type: email,", "type: emial,", 1)
	writeFileAtomic(t, a, broken)
	where := a + ":" + strconv.Itoa(lineOf(broken, "emial")) + ":"
	p.waitLog(10*time.Second, where, "emial")
	st := p.status()
	if len(st.Problems) == 0 || st.Problems[0].File != a || st.Problems[0].Line != lineOf(broken, "emial") {
		t.Fatalf("/status problems: %+v", st.Problems)
	}
	runsBefore := count(db, `SELECT count(*) FROM crmsync_sync_history WHERE pipeline = 'alpha' AND plan_hash = ?`, h2)
	waitFor(t, 10*time.Second, "syncs should go on with the old plan", func() bool {
		return count(db, `SELECT count(*) FROM crmsync_sync_history WHERE pipeline = 'alpha' AND plan_hash = ? AND status = 'success'`, h2) >= runsBefore+2
	})
	if pipelineOf(p.status(), "alpha").Hash != h2 {
		t.Fatal("the broken file replaced the running plan")
	}
	fams, _ := p.metrics()
	if v, _ := sample(fams, "crmsync_config_last_reload_successful", map[string]string{"file": a}); v != 0 {
		t.Fatalf("crmsync_config_last_reload_successful{file=%q} = %v after a broken edit", a, v)
	}
	writeFileAtomic(t, a, alpha.String()) // fixed: the same plan as running, so a no-op
	waitFor(t, 5*time.Second, "the fix should clear the problems", func() bool { return len(p.status().Problems) == 0 })

	t.Log("a new file starts, a removed file stops")
	b := filepath.Join(dir, "beta.yaml")
	writeFileAtomic(t, b, crmPipeline{name: "beta", url: crm.URL, schedule: "every 1s", entities: []string{"things"}, incremental: true}.String())
	waitFor(t, 10*time.Second, "the new file should sync", func() bool { return count(db, `SELECT count(*) FROM beta_things`) == 25 })
	newest := crmEpoch.Add(25 * time.Second)
	waitFor(t, 5*time.Second, "the watermark gauge should show the newest row", func() bool {
		fams, _ := p.metrics()
		v, _ := sample(fams, "crmsync_watermark_timestamp_seconds", map[string]string{"pipeline": "beta", "entity": "things"})
		return v == float64(newest.Unix())
	})
	if e := entityOf(p.status(), "beta", "things"); e.Watermark != newest.Format(time.RFC3339) {
		t.Fatalf("/status watermark %q", e.Watermark)
	}
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	p.waitLog(5*time.Second, "beta.yaml is gone")
	waitFor(t, 5*time.Second, "beta should leave the status", func() bool { return pipelineOf(p.status(), "beta") == nil })
	n := len(crm.syncsOf("things"))
	time.Sleep(1500 * time.Millisecond) // longer than beta's interval
	if got := len(crm.syncsOf("things")); got != n {
		t.Fatalf("beta synced %d more times after its file was removed", got-n)
	}

	t.Log("SIGHUP reloads everything, also what the folder watch cannot see")
	if err := os.WriteFile(secret, []byte("s3cret-two"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.signal(syscall.SIGHUP)
	p.waitLog(5*time.Second, "SIGHUP: reloading")
	waitFor(t, 10*time.Second, "the new secret should be sent after SIGHUP", func() bool {
		tags := crm.seenTags()
		return len(tags) > 0 && tags[len(tags)-1] == "s3cret-two"
	})
	if tags := crm.seenTags(); tags[0] != "s3cret-one" {
		t.Fatalf("tags seen: %v", tags)
	}

	t.Log("/metrics and /status")
	fams, text := p.metrics()
	h3 := pipelineOf(p.status(), "alpha").Hash
	for _, c := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"crmsync_syncs_total", map[string]string{"pipeline": "alpha", "entity": "people", "status": "success"}, 4},
		{"crmsync_records_total", map[string]string{"pipeline": "alpha", "entity": "people", "outcome": "created"}, 25},
		{"crmsync_records_total", map[string]string{"pipeline": "alpha", "entity": "people", "outcome": "updated"}, 25},
		{"crmsync_api_calls_total", map[string]string{"pipeline": "alpha", "entity": "people"}, 12},
		{"crmsync_sync_duration_seconds", map[string]string{"pipeline": "alpha", "entity": "people"}, 4},
		{"crmsync_last_success_timestamp_seconds", map[string]string{"pipeline": "alpha", "entity": "people"}, float64(time.Now().Add(-time.Minute).Unix())},
		{"crmsync_config_last_reload_successful", map[string]string{"file": a}, 1},
		{"crmsync_config_last_reload_success_timestamp_seconds", map[string]string{"file": a}, float64(time.Now().Add(-time.Minute).Unix())},
		{"crmsync_plan_info", map[string]string{"pipeline": "alpha", "file": a, "hash": h3}, 1},
	} {
		v, ok := sample(fams, c.name, c.labels)
		if !ok || v < c.min {
			t.Errorf("%s%v = %v (present %v), want at least %v", c.name, c.labels, v, ok, c.min)
		}
	}
	if _, ok := sample(fams, "crmsync_config_last_reload_successful", map[string]string{"file": b}); ok {
		t.Error("the removed file still has a reload gauge")
	}
	if h3 == h2 {
		t.Error("SIGHUP with a changed secret should have swapped the plan")
	}
	_, statusBody := p.get("/status?format=json", "")
	if strings.Contains(text, "s3cret") || strings.Contains(statusBody, "s3cret") || strings.Contains(p.log(), "s3cret") {
		t.Error("a secret reached /metrics, /status or the log")
	}
	e := entityOf(p.status(), "alpha", "people")
	// While a run is in progress there is no next run yet.
	if e.LastRun == nil || e.LastRun.Status != "success" || e.LastRun.Processed != 25 || (e.NextRun == nil && e.Running == nil) {
		t.Errorf("alpha people on /status: %+v", e)
	}
	if code, _ := p.get("/healthz", ""); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
	if code, _ := p.get("/readyz", ""); code != 200 {
		t.Errorf("/readyz: %d", code)
	}

	t.Log("SIGTERM stops it cleanly")
	p.signal(syscall.SIGTERM)
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM", code)
	}
	if n := count(db, `SELECT count(*) FROM crmsync_sync_history WHERE status = 'running'`); n != 0 {
		t.Fatalf("%d syncs left running", n)
	}
}
