package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/crmsync/crmsync/engine/source/httpsrc"
)

// TestWindowPartitionsSpreadOverReplicas: two serve processes (River,
// one PostgreSQL schema) share a time-window backfill of an http entity
// (partitions: 4, one crmsync_partition job per window): the server,
// which filters by ?from=&to=, serves each record once, the table lands
// exactly once, one history row per window, and the watermark moves once
// every window committed.
func TestWindowPartitionsSpreadOverReplicas(t *testing.T) {
	if os.Getenv("CRMSYNC_PG_DSN") == "none" {
		t.Skip("needs PostgreSQL")
	}
	now := time.Now().UTC()
	start := now.Add(-40 * 24 * time.Hour).Truncate(time.Second)
	type item struct {
		id int
		at time.Time
	}
	var items []item
	for i := range 600 { // skewed: most in the last days
		items = append(items, item{len(items) + 1, now.Add(-time.Duration(i+1) * 9 * time.Minute).Truncate(time.Second)})
	}
	for i := range 60 {
		items = append(items, item{len(items) + 1, start.Add(time.Duration(i) * 11 * time.Hour)})
	}
	var mu sync.Mutex
	served := map[string]map[int]int{} // by the request's from
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		from, err1 := time.Parse(time.RFC3339, q.Get("from"))
		to, err2 := time.Parse(time.RFC3339, q.Get("to"))
		if err1 != nil || err2 != nil {
			http.Error(w, "from and to are required", http.StatusBadRequest)
			return
		}
		after, _ := strconv.Atoi(q.Get("after"))
		mu.Lock()
		defer mu.Unlock()
		var page []map[string]any
		next := ""
		for _, it := range items {
			if it.id <= after || it.at.Before(from) || !it.at.Before(to) {
				continue
			}
			if len(page) == 50 {
				next = strconv.Itoa(it.id - 1)
				break
			}
			page = append(page, map[string]any{"id": it.id, "updated_at": it.at.Format(time.RFC3339)})
			if served[q.Get("from")] == nil {
				served[q.Get("from")] = map[int]int{}
			}
			served[q.Get("from")][it.id]++
		}
		json.NewEncoder(w).Encode(map[string]any{"results": page, "next": next})
	}))
	defer ts.Close()
	dir := t.TempDir()
	content := fmt.Sprintf(`version: 1
name: part
schedule: every 2s
source: {type: http, base_url: %q}
entities:
  job:
    request: {path: /items, params: {from: "{{ window.start }}", to: "{{ window.end }}"}}
    records: results
    paginate: {style: cursor, cursor: next, param: after}
    primary_key: [id]
    batch_size: 50
    partitions: 4
    incremental: {field: updated_at, start: %q}
    fields:
      id: {type: integer}
      updated_at: {type: datetime}
`, ts.URL, start.Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "part.yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	pg, logs := replicas(t, dir, 2, 2)
	eventually(t, 90*time.Second, "the backfill should finish (a watermark, no plan)", func() bool { return backfillDone(pg) })
	var n, distinct int
	if err := pg.QueryRow("SELECT count(*), count(DISTINCT id) FROM part_job").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != len(items) || distinct != n {
		t.Errorf("%d rows (%d distinct), want %d", n, distinct, len(items))
	}
	var wm string
	pg.QueryRow("SELECT watermark FROM crmsync_state WHERE entity = 'job'").Scan(&wm)
	if want := items[0].at.Format(time.RFC3339); wm != want {
		t.Errorf("watermark %q, want the newest record's %q", wm, want)
	}
	var created int64
	var parts int
	if err := pg.QueryRow("SELECT coalesce(sum(created), 0), count(*) FROM crmsync_sync_history WHERE entity = 'job' AND created > 0").Scan(&created, &parts); err != nil {
		t.Fatal(err)
	}
	if created != int64(len(items)) || parts > 4 {
		t.Errorf("history: %d created over %d syncs, want %d over at most the 4 windows", created, parts, len(items))
	}
	// The backfill's windows; a scheduled incremental run after it asks
	// from the watermark on.
	mu.Lock()
	once := map[int]int{}
	for from, ids := range served {
		if from == wm {
			continue
		}
		for id, c := range ids {
			once[id] += c
		}
	}
	mu.Unlock()
	for id, c := range once {
		if c != 1 {
			t.Errorf("record %d served %d times by the backfill's windows, want once", id, c)
		}
	}
	if len(once) != len(items) {
		t.Errorf("the backfill's windows served %d records, want %d", len(once), len(items))
	}
	for i, l := range logs {
		ran := 0
		for _, line := range strings.Split(l.String(), "\n") {
			if strings.Contains(line, `"partition":"p`) && strings.Contains(line, `Completed part job sync`) {
				ran++
			}
		}
		t.Logf("replica %d ran %d windows", i+1, ran)
		if c := l.count(`"level":"ERROR"`); c > 0 {
			t.Errorf("replica %d logged %d errors:\n%s", i+1, c, l.String())
		}
	}
}
