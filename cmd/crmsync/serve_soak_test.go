package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

// soakDatabase makes a database of its own whose sessions are cut after
// idle seconds, as a pooler, a NAT or idle_session_timeout would, and
// drops it at cleanup. The setting is per database so no other test
// feels it.
func soakDatabase(t *testing.T, idle string) (dsn string, conn *pgx.Conn) {
	t.Helper()
	base, admin := testPostgres(t)
	ctx := context.Background()
	name := fmt.Sprintf("crmsync_soak_%d", rand.Int64N(1e12))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s SET idle_session_timeout = '%s'", name, idle)); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	dsn = u.String()
	// The test's own observer must not be cut either.
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["idle_session_timeout"] = "0"
	conn, err = pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close(context.Background())
		admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(context.Background())
	})
	return dsn, conn
}

// TestServeSoakIdleSessionTimeout: two serve replicas sync full-refresh
// entities with delete_missing: hard on a database that cuts every
// session idle for 3 s — longer than one sync takes to read. The claim's
// session must survive (or its loss must stop the sync before it
// commits), so no live row is ever deleted, no row doubles, and no two
// syncs of one entity ever run at once.
func TestServeSoakIdleSessionTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test")
	}
	t.Parallel()
	dsn, conn := soakDatabase(t, "3s")
	const n = 60
	// 6 pages of 10, 700 ms each: a sync reads for about 4.2 s.
	crm := newServeCRM(t, n, 10, 700*time.Millisecond)
	entities := []string{"s1", "s2"}
	dir := t.TempDir()
	writeFileAtomic(t, filepath.Join(dir, "soak.yaml"), crmPipeline{
		name: "soak", url: crm.URL, schedule: "every 1s", entities: entities,
		entityExtra: "    delete_missing: hard\n",
	}.String())
	var replicas []*serveProc
	for range 2 {
		replicas = append(replicas, startServe(t, nil, "--dir", dir, "--dest", dsn, "--addr", "127.0.0.1:0", "--log-level", "debug"))
	}
	for _, r := range replicas {
		r.listening()
	}

	ctx := context.Background()
	count := func(e string) (int, int, error) {
		var rows, distinct int
		err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT id) FROM "+pgx.Identifier{"public", "soak_" + e}.Sanitize()).Scan(&rows, &distinct)
		return rows, distinct, err
	}
	// Once a table is full, it must stay full: a hard delete_missing
	// from a run that lost its claim would take live rows.
	var mu sync.Mutex
	var losses []string
	full := map[string]bool{}
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for _, e := range entities {
				rows, distinct, err := count(e)
				if err != nil {
					continue // not created yet
				}
				mu.Lock()
				if rows == n && distinct == n {
					full[e] = true
				} else if full[e] {
					losses = append(losses, fmt.Sprintf("%s: %d rows, %d distinct at %s", e, rows, distinct, time.Now().Format(time.StampMilli)))
				}
				mu.Unlock()
			}
		}
	}()
	time.Sleep(25 * time.Second)
	close(stop)
	<-watched
	for _, r := range replicas {
		r.signal(syscall.SIGTERM)
	}
	for _, r := range replicas {
		if code := r.wait(20 * time.Second); code != 0 {
			t.Errorf("a replica exited %d after SIGTERM", code)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	for _, l := range losses {
		t.Errorf("a full table lost rows: %s", l)
	}
	dest, err := sink.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	for _, e := range entities {
		if !full[e] {
			t.Errorf("%s never filled", e)
		}
		if rows, distinct, err := count(e); err != nil || rows != n || distinct != n {
			t.Errorf("table soak_%s: %d rows, %d distinct ids (%v), want %d", e, rows, distinct, err, n)
		}
		if m := crm.mostAtOnce(e); m != 1 {
			t.Errorf("%s: %d requests in flight at once: two replicas synced it together", e, m)
		}
		hist, err := dest.History(ctx, sink.Filter{Pipeline: "soak", Entity: e})
		if err != nil {
			t.Fatal(err)
		}
		ok := 0
		for _, s := range hist {
			switch s.Status {
			case sink.StatusSuccess:
				ok++
			case sink.StatusFailed:
				t.Errorf("%s: sync %d failed: %v", e, s.ID, s.Errors)
			}
		}
		// 25 s of syncs of ~4.2 s each, shared by two replicas.
		if ok < 3 {
			t.Errorf("%s: only %d successful syncs in the soak: %+v", e, ok, hist)
		}
		t.Logf("%s: %d syncs, %d successful", e, len(hist), ok)
	}
}
