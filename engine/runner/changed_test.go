package runner_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
)

// changedSource is a file API: /files/f1 answers its modifiedTime, /rows
// its rows in pages of 2 (a header row first); failPage makes that page
// answer 400.
type changedSource struct {
	mu       sync.Mutex
	modified string
	rows     [][]string
	failPage int
	calls    map[string]int
}

func (c *changedSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[r.URL.Path]++
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/files/f1":
		fmt.Fprintf(w, `{"modifiedTime":%q}`, c.modified)
	case "/rows":
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if off/2+1 == c.failPage {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"bad range"}`)
			return
		}
		var cells []string
		for i := off; i < min(off+2, len(c.rows)); i++ {
			cells = append(cells, `["`+strings.Join(c.rows[i], `","`)+`"]`)
		}
		fmt.Fprintf(w, `{"values":[%s]}`, strings.Join(cells, ","))
	}
}

const changedYAML = `version: 1
name: files
source:
  type: http
  base_url: %s
  retry: {attempts: 1}
entities:
  rows:
    changed_when: {request: {path: /files/f1, params: {fields: modifiedTime}}, value: modifiedTime}
    request: {path: /rows}
    records: values
    rows: {header: first}
    paginate: {style: offset, limit: 2}
    primary_key: id
    fields:
      id: {path: id, type: integer}
      name: name
`

// TestChangedWhen: the probe's value, stored with the checkpoint of a
// complete sync, skips the next sync while it stays the same (success,
// counts 0, the rows endpoint never called, and the log says so); --full
// reads anyway; a sync that fails half way does not store the new value,
// so the next one probes and reads again.
func TestChangedWhen(t *testing.T) {
	c := &changedSource{modified: "2024-05-01T10:00:00.000Z", calls: map[string]int{},
		rows: [][]string{{"id", "name"}, {"1", "a"}, {"2", "b"}, {"3", "c"}}}
	srv := httptest.NewServer(c)
	defer srv.Close()
	plan := loadPipedrive(t, srv.URL, changedYAML)
	dest, db, _ := openSQLite(t)
	steps := []struct {
		name         string
		change       func()
		full         bool
		wantStatus   string
		skipped      bool
		wantCreated  int64
		wantUpdated  int64
		wantRowCalls int
		wantVersion  string
		wantNames    string
	}{
		{"first run reads", nil, false, sink.StatusSuccess, false, 3, 0, 3, "2024-05-01T10:00:00.000Z", "a b c"},
		{"unchanged skips", nil, false, sink.StatusSuccess, true, 0, 0, 0, "2024-05-01T10:00:00.000Z", "a b c"},
		{"--full reads anyway", nil, true, sink.StatusSuccess, false, 0, 0, 3, "2024-05-01T10:00:00.000Z", "a b c"},
		{"changed, but page 2 fails", func() {
			c.modified, c.failPage = "2024-05-02T08:00:00.000Z", 2
			c.rows[1][1] = "A"
		}, false, sink.StatusFailed, false, 0, 1, 2, "2024-05-01T10:00:00.000Z", "A b c"},
		// It continues from the page the failed sync committed: offsets 2 and 4.
		{"the failed read probes and reads again", func() { c.failPage = 0 }, false, sink.StatusSuccess, false, 0, 0, 2, "2024-05-02T08:00:00.000Z", "A b c"},
		{"then skips", nil, false, sink.StatusSuccess, true, 0, 0, 0, "2024-05-02T08:00:00.000Z", "A b c"},
	}
	for _, st := range steps {
		c.mu.Lock()
		if st.change != nil {
			st.change()
		}
		clear(c.calls)
		c.mu.Unlock()
		var logs bytes.Buffer
		r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Full: st.full,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if r.Status != st.wantStatus || r.NotChanged != st.skipped {
			t.Fatalf("%s: status %s, not changed %v (%v), want %s %v", st.name, r.Status, r.NotChanged, r.Err, st.wantStatus, st.skipped)
		}
		if r.Created != st.wantCreated || r.Updated != st.wantUpdated {
			t.Errorf("%s: created %d updated %d, want %d %d", st.name, r.Created, r.Updated, st.wantCreated, st.wantUpdated)
		}
		if got := c.calls["/rows"]; got != st.wantRowCalls || c.calls["/files/f1"] != 1 {
			t.Errorf("%s: %d rows calls, %d probes; want %d, 1", st.name, got, c.calls["/files/f1"], st.wantRowCalls)
		}
		if skippedLine := strings.Contains(logs.String(), "Skipped files rows: unchanged since its last sync (changed_when)"); skippedLine != st.skipped {
			t.Errorf("%s: skipped line %v in\n%s", st.name, skippedLine, logs.String())
		}
		cp, err := dest.Checkpoint(context.Background(), "files", "rows")
		if err != nil {
			t.Fatal(err)
		}
		if cp.Version != st.wantVersion {
			t.Errorf("%s: stored version %q, want %q", st.name, cp.Version, st.wantVersion)
		}
		var names string
		if err := db.QueryRow(`SELECT group_concat(name, ' ') FROM (SELECT name FROM files_rows ORDER BY id)`).Scan(&names); err != nil {
			t.Fatal(err)
		}
		if names != st.wantNames {
			t.Errorf("%s: names %q, want %q", st.name, names, st.wantNames)
		}
		var status string
		var processed int64
		if err := db.QueryRow(`SELECT status, processed FROM crmsync_sync_history ORDER BY id DESC LIMIT 1`).Scan(&status, &processed); err != nil {
			t.Fatal(err)
		}
		if status != st.wantStatus || (st.skipped && processed != 0) {
			t.Errorf("%s: history %s processed %d", st.name, status, processed)
		}
	}
}
