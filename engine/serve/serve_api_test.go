package serve

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/postgres"
)

// pgDSN gives a test its own PostgreSQL schema, dropped afterwards.
func pgDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CRMSYNC_PG_DSN")
	if base == "none" {
		t.Skip("CRMSYNC_PG_DSN=none: skipping a test that needs PostgreSQL")
	}
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	schema := fmt.Sprintf("serve_%d", rand.Uint32())
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
			db.Close()
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "schema=" + schema
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode
}

// TestReadAPI: history and rejects in pages, newest first, with a cursor
// that neither repeats nor skips rows when syncs land between pages, and
// the entities' state; over real HTTP, on SQLite and PostgreSQL.
func TestReadAPI(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "crmsync.db")
			if kind == "postgres" {
				dsn = pgDSN(t)
			}
			dest, err := sink.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dest.Close() })
			c := newCRM(t, 10, 5, 0)
			dir := t.TempDir()
			// ids above 4 are rejected: 6 rejects per sync of a.
			pipe := strings.Replace(httpPipeline("api", c.URL, "every 1h", "a", "b"),
				"      id: {path: id, type: integer}\n", "      id: {path: id, type: integer, validate: [{max: 4}], on_invalid: reject}\n", 1)
			writeAtomic(t, filepath.Join(dir, "api.yaml"), pipe)
			// A scheduler for each round of syncs (Once is once), and
			// the one that serves the API.
			scheduler := func() *Scheduler {
				s, log := newScheduler(t, dir, Options{})
				s.o.Dest = dest
				t.Cleanup(func() {
					if t.Failed() {
						t.Log(log.String())
					}
				})
				if p := s.Reload(true); len(p) > 0 {
					t.Fatal(p)
				}
				return s
			}
			once := func() {
				t.Helper()
				if _, err := scheduler().Once(context.Background(), 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				once()
			}
			s := scheduler()
			srv := httptest.NewServer(s.Handler())
			defer srv.Close()

			var all HistoryPage
			if code := getJSON(t, srv.URL+"/api/history?pipeline=api", &all); code != 200 || len(all.Syncs) != 6 || all.NextBefore != 0 {
				t.Fatalf("all history: %d, %d rows, next %d; want 200, 6, 0", code, len(all.Syncs), all.NextBefore)
			}
			var p1 HistoryPage
			getJSON(t, srv.URL+"/api/history?pipeline=api&entity=a&limit=2", &p1)
			if len(p1.Syncs) != 2 || p1.NextBefore == 0 || p1.Syncs[0].ID <= p1.Syncs[1].ID {
				t.Fatalf("page 1: %+v", p1)
			}
			for _, h := range p1.Syncs {
				if h.Entity != "a" || h.Status != sink.StatusPartial || h.Rejected != 6 || h.DurationSeconds <= 0 {
					t.Errorf("page 1 row: %+v", h)
				}
			}
			once() // a newer sync lands between the pages
			var p2 HistoryPage
			getJSON(t, srv.URL+fmt.Sprintf("/api/history?pipeline=api&entity=a&limit=2&before=%d", p1.NextBefore), &p2)
			if len(p2.Syncs) != 1 || p2.NextBefore != 0 || p2.Syncs[0].ID >= p1.Syncs[1].ID {
				t.Fatalf("page 2 after a new sync: %+v; want the one row older than page 1", p2)
			}

			var r1, r2 RejectsPage
			getJSON(t, srv.URL+"/api/rejects?pipeline=api&entity=a&limit=4", &r1)
			if len(r1.Rejects) != 4 || r1.NextBefore == 0 {
				t.Fatalf("rejects page 1: %+v", r1)
			}
			getJSON(t, srv.URL+fmt.Sprintf("/api/rejects?pipeline=api&entity=a&limit=4&before=%d", r1.NextBefore), &r2)
			if len(r2.Rejects) != 2 || r2.NextBefore != 0 {
				t.Fatalf("rejects page 2: %+v", r2)
			}
			seen := map[string]bool{}
			for _, r := range append(r1.Rejects, r2.Rejects...) {
				if seen[r.RecordID] || r.ID == 0 || len(r.Reasons) == 0 {
					t.Errorf("reject %+v: repeated or incomplete", r)
				}
				seen[r.RecordID] = true
			}
			if len(seen) != 6 {
				t.Errorf("rejects: %d records, want ids 5..10", len(seen))
			}

			var ents struct{ Entities []EntityInfo }
			getJSON(t, srv.URL+"/api/entities", &ents)
			if len(ents.Entities) != 2 {
				t.Fatalf("entities: %+v", ents)
			}
			a := ents.Entities[0]
			if a.Pipeline != "api" || a.Entity != "a" || a.Schedule != "every 1h" || a.Paused || a.LastSync == nil ||
				a.LastSync.Status != sink.StatusPartial || a.LastSuccess == nil || a.Running != nil {
				t.Errorf("entity a: %+v", a)
			}

			// The HTML views of the same pages.
			resp, body := get(t, srv.URL+"/history?pipeline=api&entity=a&limit=2", "")
			if resp.StatusCode != 200 || strings.Count(body, `<tr class="sync"`) != 2 || !strings.Contains(body, `id="older" href="/history?before=`) {
				t.Errorf("/history page: %d\n%s", resp.StatusCode, body)
			}
			resp, body = get(t, srv.URL+"/rejects?pipeline=api&entity=a", "")
			if resp.StatusCode != 200 || strings.Count(body, `<tr class="reject"`) != 6 || strings.Contains(body, `id="older"`) ||
				!strings.Contains(body, "must be at most 4") {
				t.Errorf("/rejects page: %d\n%s", resp.StatusCode, body)
			}
			if resp, body = get(t, srv.URL+"/history?limit=x", ""); resp.StatusCode != 400 || !strings.Contains(body, `limit=&#34;x&#34;`) {
				t.Errorf("/history?limit=x: %d\n%s", resp.StatusCode, body)
			}

			for _, bad := range []string{"limit=0", "limit=501", "limit=x", "before=-1", "entity=a"} {
				var e apiError
				if code := getJSON(t, srv.URL+"/api/history?"+bad, &e); code != 400 || e.Error == "" {
					t.Errorf("history?%s: %d %+v, want 400 with the reason", bad, code, e)
				}
			}
		})
	}
}

func TestRelativeTimes(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "now"}, {-20 * time.Second, "20 s ago"}, {-3*time.Minute - 10*time.Second, "3 min ago"}, {90 * time.Second, "in 1 min"},
		{-26 * time.Hour, "26 h 0 min ago"}, {-72 * time.Hour, "3 days ago"}} {
		if got := relative(now.Add(c.d), now); got != c.want {
			t.Errorf("%v: %q, want %q", c.d, got, c.want)
		}
	}
	if got := string(ago(now.Add(-3*time.Minute), now)); got != `<time datetime="2026-12-04T11:57:00Z" title="2026-12-04 11:57:00Z">3 min ago</time>` {
		t.Errorf("ago: %s", got)
	}
	if got := throughput([]RecentRun{{Processed: 1000, DurationSeconds: 2}, {Processed: 0}, {Processed: 3000, DurationSeconds: 2}}); got != "1,000 rec/s (mean of 2: 500 · 1500)" {
		t.Errorf("throughput: %s", got)
	}
}
