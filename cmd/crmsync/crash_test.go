package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// buildBinary builds crmsync once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "crmsync")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// slowCRM serves n contacts sorted by updatedAt, 100 a page, each page
// after a short delay so that a kill lands in the middle of a sync.
func slowCRM(n int, delay time.Duration) *httptest.Server {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		var since time.Time
		if s := r.URL.Query().Get("since"); s != "" {
			since, _ = time.Parse(time.RFC3339Nano, s)
		}
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		var page []map[string]any
		i := max(after, 1)
		for ; i <= n && len(page) < 100; i++ {
			at := base.Add(time.Duration(i) * time.Second)
			if at.Before(since) {
				continue
			}
			page = append(page, map[string]any{"id": strconv.Itoa(i), "properties": map[string]any{"email": fmt.Sprintf("u%d@example.com", i)},
				"updatedAt": at.Format(time.RFC3339)})
		}
		body := map[string]any{"results": page}
		if i <= n {
			body["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(i)}}
		}
		json.NewEncoder(w).Encode(body)
	}))
}

const crashPipeline = `version: 1
name: crash
source:
  type: http
  base_url: %s
entities:
  contacts:
    request: {path: /contacts}
    records: results
    paginate: {style: cursor, cursor: paging.next.after, param: after}
    primary_key: id
    incremental: {field: updated_at, param: since, sorted: true}
    batch_size: 150
    fields:
      id: {path: id, type: integer}
      email: {path: properties.email, type: email}
      updated_at: {path: updatedAt, type: datetime}
`

// TestCrashSafety kills real `crmsync run` processes with SIGKILL at
// random points, again and again, then runs to completion: every source
// record must be in the table exactly once, the checkpoint must match
// the newest row, and history must show the interrupted runs.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	bin := buildBinary(t)
	dests := map[string]func(t *testing.T) (dsn string, query func(string) *sql.Row){
		"sqlite": func(t *testing.T) (string, func(string) *sql.Row) {
			path := filepath.Join(t.TempDir(), "crash.db")
			return "sqlite:" + path, func(q string) *sql.Row {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db.QueryRow(q)
			}
		},
	}
	dests["postgres"] = func(t *testing.T) (string, func(string) *sql.Row) {
		dsn := pgSchemaDSN(t)
		return dsn, func(q string) *sql.Row {
			d, err := sink.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			d.Close()
			db, err := sql.Open("pgx", strings.Replace(dsn, "&schema=", "&search_path=", 1))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db.QueryRow(q)
		}
	}
	for name, open := range dests {
		t.Run(name, func(t *testing.T) {
			const n = 3000
			srv := slowCRM(n, 15*time.Millisecond)
			defer srv.Close()
			dir := t.TempDir()
			file := filepath.Join(dir, "crash.yaml")
			os.WriteFile(file, []byte(fmt.Sprintf(crashPipeline, srv.URL)), 0o644)
			dsn, query := open(t)
			rng := rand.New(rand.NewPCG(1, 2))
			killed := 0
			lastSync := int64(0)
			for i := 0; i < 6; i++ {
				cmd := exec.Command(bin, "run", "--quiet", "--full", "--dest", dsn, file)
				if i%2 == 1 {
					cmd = exec.Command(bin, "run", "--quiet", "--dest", dsn, file) // incremental after a kill
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// Kill during the sync, not before it starts: on a loaded
				// machine the process can take longer than the delay to
				// claim the entity, and no run would be interrupted.
				lastSync = waitRunning(t, dsn, lastSync)
				time.Sleep(time.Duration(100+rng.IntN(500)) * time.Millisecond)
				if cmd.Process.Signal(syscall.SIGKILL) == nil {
					killed++
				}
				cmd.Wait()
				checkNotAhead(t, dsn, query)
			}
			out, err := exec.Command(bin, "run", "--dest", dsn, "--log-format", "json", file).CombinedOutput()
			if err != nil {
				t.Fatalf("final run: %v\n%s", err, out)
			}
			var count, distinct int
			var maxAt string
			query(`SELECT count(*), count(DISTINCT id), max(updated_at) FROM crash_contacts`).Scan(&count, &distinct, &maxAt)
			if count != n || distinct != n {
				t.Fatalf("table has %d rows (%d distinct), want %d exactly once", count, distinct, n)
			}
			d, err := sink.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			cp, _ := d.Checkpoint(context.Background(), "crash", "contacts")
			want := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(n * time.Second)
			if got, _ := time.Parse(time.RFC3339Nano, cp.Watermark); !got.Equal(want) {
				t.Fatalf("checkpoint %q, want the newest row %s (table max %s)", cp.Watermark, want, maxAt)
			}
			hist, _ := d.History(context.Background(), sink.Filter{Pipeline: "crash", Limit: 100})
			interrupted, created, interruptedCreated := 0, int64(0), int64(0)
			for _, h := range hist {
				created += h.Created
				if h.Status == sink.StatusInterrupted {
					interrupted++
					interruptedCreated += h.Created
				}
				if h.Status == sink.StatusRunning {
					t.Errorf("sync %d still marked running after the final run", h.ID)
				}
			}
			if interrupted == 0 || !strings.Contains(string(out), "Completed crash contacts sync") {
				t.Fatalf("killed %d runs but history shows %d interrupted; final output:\n%s", killed, interrupted, out)
			}
			// Each row was created once, in a batch whose transaction also
			// counted it in its sync's history row: killed syncs included.
			if name == "postgres" {
				// The fresh table was first loaded without its _synced_at
				// index; a killed load's rerun or the final sync built it.
				var idx int
				query(`SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'crash_contacts_synced_at_idx'`).Scan(&idx)
				if idx != 1 {
					t.Errorf("crash_contacts has %d _synced_at indexes after the final run, want 1", idx)
				}
			}
			if created != n {
				t.Errorf("history counts %d rows created over all syncs (%d by interrupted ones), want %d: a killed sync's row must count what it committed",
					created, interruptedCreated, n)
			}
		})
	}
}

// waitRunning waits (up to 20 s) until a sync newer than last is
// running, and returns its id (last when none started).
func waitRunning(t *testing.T, dsn string, last int64) int64 {
	t.Helper()
	d, err := sink.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		hist, _ := d.History(context.Background(), sink.Filter{Pipeline: "crash", Limit: 1})
		if len(hist) > 0 && hist[0].ID > last {
			return hist[0].ID
		}
	}
	return last
}

// checkNotAhead: after a kill, the stored watermark is never newer than
// the newest row in the table.
func checkNotAhead(t *testing.T, dsn string, query func(string) *sql.Row) {
	t.Helper()
	d, err := sink.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cp, _ := d.Checkpoint(context.Background(), "crash", "contacts")
	if cp.Watermark == "" {
		return
	}
	var maxAt sql.NullString
	query(`SELECT max(updated_at) FROM crash_contacts`).Scan(&maxAt)
	wm, _ := time.Parse(time.RFC3339Nano, cp.Watermark)
	top, err := time.Parse(time.RFC3339Nano, maxAt.String)
	if err != nil || wm.After(top) {
		t.Fatalf("checkpoint %s is ahead of the data (newest row %q)", cp.Watermark, maxAt.String)
	}
}

// pgSchemaDSN gives a test its own PostgreSQL schema, dropped afterwards.
func pgSchemaDSN(t *testing.T) string {
	t.Helper()
	skipWithout(t, "CRMSYNC_PG_DSN")
	base := os.Getenv("CRMSYNC_PG_DSN")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	schema := fmt.Sprintf("crash_%d", rand.Uint32())
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
			db.Close()
		}
	})
	return base + sep + "schema=" + schema
}

// skipWithout skips a test that needs the database env names when it is
// set to none (make unit); otherwise a missing server fails the test.
func skipWithout(t testing.TB, env string) {
	t.Helper()
	if os.Getenv(env) == "none" {
		t.Skip(env + "=none: skipping a test that needs this database")
	}
}
