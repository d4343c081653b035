package serve

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, token, body string) (int, adminReply) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep adminReply
	json.NewDecoder(resp.Body).Decode(&rep)
	return resp.StatusCode, rep
}

// TestAdminAPI: run-now, pause and resume over the operator API, with
// River on the SQLite destination; refused without the token, and
// read-only when serve has none.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	c := newCRM(t, 5, 5, 0)
	dir := t.TempDir()
	writeAtomic(t, filepath.Join(dir, "ops.yaml"), httpPipeline("ops", c.URL, "every 1h", "a", "b"))
	const token = "0123456789abcdef-secret"
	s, log := newScheduler(t, dir, Options{AdminToken: token})
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(log.String())
		}
	})
	s.Reload(true)
	if err := s.OpenQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	// An interval entity runs when it loads, then once an hour.
	eventually(t, 10*time.Second, "a and b should sync once on load", func() bool {
		return len(c.syncsOf("a")) == 1 && len(c.syncsOf("b")) == 1
	})

	for _, tok := range []string{"", "wrong-token-0123456789"} {
		if code, rep := post(t, srv.URL+"/api/run", tok, `{"pipeline":"ops","entity":"a"}`); code != http.StatusUnauthorized || rep.OK {
			t.Errorf("run with token %q: %d %+v, want 401", tok, code, rep)
		}
	}
	if code, _ := post(t, srv.URL+"/api/run", token, `{"pipeline":"ops","entity":"zz"}`); code != http.StatusNotFound {
		t.Errorf("run of an unknown entity: %d, want 404", code)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(c.syncsOf("a")); n != 1 {
		t.Fatalf("a refused run started a sync (%d syncs)", n)
	}

	code, rep := post(t, srv.URL+"/api/run?pipeline=ops&entity=a", token, "")
	if code != http.StatusOK || !rep.OK || rep.JobID == 0 {
		t.Fatalf("run: %d %+v", code, rep)
	}
	eventually(t, 10*time.Second, "run-now should sync a", func() bool { return len(c.syncsOf("a")) == 2 })

	// Pause the pipeline: a run-now job of it is skipped.
	if code, rep := post(t, srv.URL+"/api/pause", token, `{"pipeline":"ops"}`); code != http.StatusOK {
		t.Fatalf("pause: %d %+v", code, rep)
	}
	if e := entityStatus(getStatus(t, s), "ops", "b"); e == nil || e.State != StatePaused {
		t.Errorf("b after pausing its pipeline: %+v", e)
	}
	post(t, srv.URL+"/api/run", token, `{"pipeline":"ops","entity":"b"}`)
	eventually(t, 10*time.Second, "the paused tick should be counted", func() bool {
		v, _ := metricValue(t, s.Metrics().Registry, "crmsync_syncs_skipped_total", map[string]string{"entity": "b", "reason": "paused"})
		return v == 1
	})
	if n := len(c.syncsOf("b")); n != 1 {
		t.Errorf("b synced while paused (%d syncs)", n)
	}
	if v, _ := metricValue(t, s.Metrics().Registry, "crmsync_paused", map[string]string{"pipeline": "ops", "entity": "b"}); v != 1 {
		t.Errorf("crmsync_paused{b} = %v", v)
	}

	// Resume: runs again.
	if code, rep := post(t, srv.URL+"/api/resume", token, `{"pipeline":"ops"}`); code != http.StatusOK {
		t.Fatalf("resume: %d %+v", code, rep)
	}
	if e := entityStatus(getStatus(t, s), "ops", "b"); e == nil || e.State == StatePaused {
		t.Errorf("b after resuming: %+v", e)
	}
	// The skipped job may not be marked completed yet (River completes
	// in batches): until then a run-now is a duplicate of it.
	eventually(t, 5*time.Second, "run-now after resume should queue a new job", func() bool {
		code, rep := post(t, srv.URL+"/api/run", token, `{"pipeline":"ops","entity":"b"}`)
		return code == http.StatusOK && !rep.Duplicate
	})
	eventually(t, 10*time.Second, "b should sync after resume", func() bool { return len(c.syncsOf("b")) == 2 })
	if code, rep := post(t, srv.URL+"/api/reload", token, ""); code != http.StatusOK || rep.Problems != 0 {
		t.Errorf("reload: %d %+v", code, rep)
	}
	if code, _ := post(t, srv.URL+"/api/reload", "", ""); code != http.StatusUnauthorized {
		t.Errorf("reload without the token: %d", code)
	}
	if v, _ := metricValue(t, s.Metrics().Registry, "crmsync_admin_requests_total", map[string]string{"action": "run", "result": "unauthorized"}); v != 2 {
		t.Errorf("crmsync_admin_requests_total{run, unauthorized} = %v", v)
	}
}

// TestAdminReadOnly: without a token the API refuses every change.
func TestAdminReadOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeAtomic(t, filepath.Join(dir, "ops.yaml"), httpPipeline("ops", "http://127.0.0.1:1", "", "a"))
	s, _ := newScheduler(t, dir, Options{})
	s.Reload(true)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, a := range []string{"run", "pause", "resume"} {
		if code, rep := post(t, srv.URL+"/api/"+a, "anything-at-all-0123", `{"pipeline":"ops","entity":"a"}`); code != http.StatusForbidden || !strings.Contains(rep.Error, "read-only") {
			t.Errorf("%s without --admin-token: %d %+v", a, code, rep)
		}
	}
}
