package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/postgres"
)

// testPostgres is the tests' server (CRMSYNC_PG_DSN, or the local one)
// and a connection to it; CRMSYNC_PG_DSN=none skips the test.
func testPostgres(t *testing.T) (base string, conn *pgx.Conn) {
	t.Helper()
	base = os.Getenv("CRMSYNC_PG_DSN")
	if base == "none" {
		t.Skip("CRMSYNC_PG_DSN=none: skipping PostgreSQL tests")
	}
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatalf("PostgreSQL is needed for this test (set CRMSYNC_PG_DSN, or CRMSYNC_PG_DSN=none to skip): %v", err)
	}
	return base, conn
}

// servePostgres returns a DSN for a fresh schema, dropped at cleanup.
func servePostgres(t *testing.T) (dsn string, query func(string) (int, int)) {
	t.Helper()
	base, conn := testPostgres(t)
	ctx := context.Background()
	schema := fmt.Sprintf("crmsync_serve_%d", rand.Int64N(1e12))
	t.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
		conn.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	return u.String(), func(table string) (int, int) {
		var n, distinct int
		err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT id) FROM "+pgx.Identifier{schema, table}.Sanitize()).Scan(&n, &distinct)
		if err != nil {
			return 0, 0
		}
		return n, distinct
	}
}

// TestServeReplicas: three serve processes share one PostgreSQL
// destination and the same files. River's leader queues each entity's
// sync and one replica works it (the destination's fenced claim stays
// underneath); one replica is killed (SIGKILL) in the middle of a sync,
// River's rescuer frees its job once its heartbeat stops, another
// replica picks the entity up from its last committed checkpoint, and
// every source record ends up in its table exactly once.
func TestServeReplicas(t *testing.T) {
	t.Parallel()
	dsn, query := servePostgres(t)
	const n = 200
	crm := newServeCRM(t, n, 10, 100*time.Millisecond)
	entities := []string{"e1", "e2", "e3", "e4"}
	dir := t.TempDir()
	writeFileAtomic(t, filepath.Join(dir, "rep.yaml"),
		crmPipeline{name: "rep", url: crm.URL, schedule: "every 1s", entities: entities, incremental: true}.String())
	var replicas []*serveProc
	for range 3 {
		replicas = append(replicas, startServe(t, nil, "--dir", dir, "--dest", dsn, "--addr", "127.0.0.1:0", "--max-concurrent", "2", "--log-level", "debug", "--stuck-after", "4s"))
	}
	for _, r := range replicas {
		r.listening()
	}

	// Kill a replica that has committed part of a sync.
	var victim *serveProc
	var entity string
	waitFor(t, 15*time.Second, "a replica should be in the middle of a sync", func() bool {
		for _, r := range replicas {
			for _, e := range entities {
				if es := entityOf(r.status(), "rep", e); es != nil && es.Running != nil && es.Running.Records >= 20 && es.Running.Records < n-30 {
					victim, entity = r, e
					return true
				}
			}
		}
		return false
	})
	killedAt := len(crm.syncsOf(entity)) // the next first request is the successor's
	victim.cmd.Process.Kill()
	victim.wait(5 * time.Second)
	t.Logf("killed pid %d while it synced %s", victim.cmd.Process.Pid, entity)

	// River's rescuer runs every 30 s on the leader (a new one if the
	// victim led).
	waitFor(t, 90*time.Second, "every table should fill and the victim's entity sync again", func() bool {
		for _, e := range entities {
			if rows, _ := query("rep_" + e); rows != n {
				return false
			}
		}
		return len(crm.syncsOf(entity)) > killedAt
	})
	var survivors []*serveProc
	for _, r := range replicas {
		if r != victim {
			survivors = append(survivors, r)
		}
	}
	leaders := 0.0
	for _, r := range survivors {
		fams, _ := r.metrics()
		v, _ := sample(fams, "crmsync_leader", nil)
		leaders += v
	}
	for _, r := range survivors {
		r.signal(syscall.SIGTERM)
	}
	for _, r := range survivors {
		if code := r.wait(20 * time.Second); code != 0 {
			t.Fatalf("a replica exited %d after SIGTERM", code)
		}
	}

	for _, e := range entities {
		if rows, distinct := query("rep_" + e); rows != n || distinct != n {
			t.Errorf("table rep_%s: %d rows, %d distinct ids, want %d", e, rows, distinct, n)
		}
	}
	// The sync after the kill read on from the checkpoint, not from scratch.
	if since := crm.syncsOf(entity)[killedAt]; since == "" {
		t.Errorf("the sync of %s after the kill started from scratch", entity)
	}
	// One sync at a time per entity (one sync sends one request at a
	// time), and the killed sync is marked interrupted.
	dest, err := sink.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	for _, e := range entities {
		if m := crm.mostAtOnce(e); m != 1 {
			t.Errorf("%s: %d requests in flight at once: two replicas synced it together", e, m)
		}
		hist, err := dest.History(context.Background(), sink.Filter{Pipeline: "rep", Entity: e})
		if err != nil {
			t.Fatal(err)
		}
		interrupted := slices.ContainsFunc(hist, func(s sink.Sync) bool { return s.Status == sink.StatusInterrupted })
		if e == entity && !interrupted {
			t.Errorf("%s: the killed sync is not marked interrupted: %+v", e, hist)
		}
		for _, s := range hist {
			if s.Status == sink.StatusFailed || s.Status == sink.StatusRunning {
				t.Errorf("%s: sync %d is %s: %v", e, s.ID, s.Status, s.Errors)
			}
		}
	}
	// The work spread, and contention stayed quiet.
	ran := 0
	for _, r := range replicas {
		if len(r.logLines("Completed rep")) > 0 {
			ran++
		}
		if errs := r.logLines(`"level":"ERROR"`); len(errs) > 0 {
			t.Errorf("a replica logged errors:\n%s", strings.Join(errs, "\n"))
		}
	}
	if ran < 2 {
		t.Errorf("only %d replica(s) completed a sync", ran)
	}
	if leaders != 1 {
		t.Errorf("%v survivors say they lead, want 1", leaders)
	}
}
