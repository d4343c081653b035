package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkWindowPartitionReplicas: a backfill of an HTTP source whose
// pages each take 25 ms to answer (a CRM API is bound by its latency, not
// by crmsync's CPU), split into 8 time windows, on one serve replica and on
// two, each running up to 2 partitions at once. Two replicas run twice as
// many windows at a time, so the backfill takes about half as long.
func BenchmarkWindowPartitionReplicas(b *testing.B) {
	if os.Getenv("CRMSYNC_PG_DSN") == "none" {
		b.Skip("needs PostgreSQL")
	}
	const items, perPage = 20000, 50
	now := time.Now().UTC().Truncate(time.Second)
	start := now.Add(-40 * 24 * time.Hour)
	step := now.Sub(start) / items
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(25 * time.Millisecond)
		q := r.URL.Query()
		from, _ := time.Parse(time.RFC3339, q.Get("from"))
		to, _ := time.Parse(time.RFC3339, q.Get("to"))
		after, _ := strconv.Atoi(q.Get("after"))
		var page []map[string]any
		next := ""
		for id := max(after+1, 1); id <= items; id++ {
			at := start.Add(time.Duration(id-1) * step).Truncate(time.Second)
			if at.Before(from) || !at.Before(to) {
				continue
			}
			if len(page) == perPage {
				next = strconv.Itoa(id - 1)
				break
			}
			page = append(page, map[string]any{"id": id, "updated_at": at.Format(time.RFC3339)})
		}
		json.NewEncoder(w).Encode(map[string]any{"results": page, "next": next})
	}))
	defer ts.Close()
	dir := b.TempDir()
	content := fmt.Sprintf(`version: 1
name: part
schedule: every 1h
source: {type: http, base_url: %q, retry: {attempts: 1}}
entities:
  job:
    request: {path: /items, params: {from: "{{ window.start }}", to: "{{ window.end }}"}}
    records: results
    paginate: {style: cursor, cursor: next, param: after}
    primary_key: [id]
    batch_size: 500
    partitions: 8
    incremental: {field: updated_at, start: %q}
    fields:
      id: {type: integer}
      updated_at: {type: datetime}
`, ts.URL, start.Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "part.yaml"), []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	rates := map[int]float64{}
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				pg, _ := replicas(b, dir, n, 2)
				for !backfillDone(pg) {
					time.Sleep(20 * time.Millisecond)
				}
				total += time.Since(t0)
				var got int
				pg.QueryRow("SELECT count(DISTINCT id) FROM part_job").Scan(&got)
				if got != items {
					b.Fatalf("%d rows, want %d", got, items)
				}
			}
			rates[n] = float64(items) * float64(b.N) / total.Seconds()
			b.ReportMetric(rates[n], "records/s")
		})
	}
	if rates[1] > 0 {
		b.Logf("%d records in 8 windows, 25 ms a page: 1 replica %.0f records/s, 2 replicas %.0f records/s (%.2f×)", items, rates[1], rates[2], rates[2]/rates[1])
	}
}
