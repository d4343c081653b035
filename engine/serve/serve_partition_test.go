package serve

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/postgres"
	_ "github.com/crmsync/crmsync/engine/source/sqlsrc"
)

// TestPartitionsSpreadOverReplicas: two serve processes (River, one
// PostgreSQL schema) share a partitioned backfill of a MariaDB table with
// skewed keys: each runs some partitions, the table lands exactly once,
// the watermark moves once every partition committed.
func TestPartitionsSpreadOverReplicas(t *testing.T) {
	if os.Getenv("CRMSYNC_PG_DSN") == "none" || os.Getenv("CRMSYNC_MYSQL_DSN") == "none" {
		t.Skip("needs PostgreSQL and MariaDB")
	}
	// The source: 30,000 rows, the last 10,000 with keys 1,000 apart.
	base := os.Getenv("CRMSYNC_MYSQL_DSN")
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/test"
	}
	cfg, err := mysqldrv.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	db := fmt.Sprintf("crmsync_serve_part_%08x", rand.Uint32())
	if _, err := admin.Exec("CREATE DATABASE " + db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + db); admin.Close() })
	const rows = 30000
	for _, q := range []string{
		"CREATE TABLE " + db + ".job (id bigint PRIMARY KEY, name varchar(40), updated_at datetime)",
		fmt.Sprintf("INSERT INTO %s.job SELECT IF(seq > 20000, seq * 1000, seq), CONCAT('job ', seq), '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_%d", db, rows),
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	cfg.DBName = db
	dir := t.TempDir()
	writeAtomic(t, filepath.Join(dir, "part.yaml"), fmt.Sprintf(`version: 1
name: part
schedule: every 2s
source: {type: sql, driver: mysql, dsn: %q}
entities:
  job:
    from: job
    primary_key: [id]
    batch_size: 200
    partitions: 8
    incremental: {field: updated_at}
    fields:
      id: {type: integer}
      name: {type: text}
      updated_at: {type: datetime}
`, cfg.FormatDSN()))

	// The destination: one schema, two replicas.
	pgBase := os.Getenv("CRMSYNC_PG_DSN")
	if pgBase == "" {
		pgBase = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	schema := fmt.Sprintf("serve_part_%d", rand.Uint32())
	pg, err := sql.Open("pgx", pgBase+"&search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`); pg.Close() })
	var replicas []*logs
	for range 2 {
		dest, err := sink.Open(context.Background(), pgBase+"&schema="+schema)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dest.Close() })
		l := &logs{}
		s, err := New(Options{Dir: dir, Dest: dest, MaxConcurrent: 2, Logger: jsonLogger(l)})
		if err != nil {
			t.Fatal(err)
		}
		if p := s.Reload(true); len(p) != 0 {
			t.Fatal(p)
		}
		if err := s.OpenQueue(context.Background()); err != nil {
			t.Fatal(err)
		}
		runScheduler(t, s)
		replicas = append(replicas, l)
	}
	eventually(t, 90*time.Second, "the backfill should finish (a watermark, no plan)", func() bool {
		var wm string
		var left int
		pg.QueryRow("SELECT coalesce(max(watermark) FILTER (WHERE entity = 'job'), ''), count(*) FILTER (WHERE entity LIKE 'job#%') FROM crmsync_state").Scan(&wm, &left)
		return wm != "" && left == 0
	})
	var n, distinct int
	if err := pg.QueryRow("SELECT count(*), count(DISTINCT id) FROM part_job").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != rows || distinct != rows {
		t.Errorf("%d rows (%d distinct), want %d", n, distinct, rows)
	}
	var wm string
	pg.QueryRow("SELECT watermark FROM crmsync_state WHERE entity = 'job'").Scan(&wm)
	if want := time.Date(2024, 1, 1, 0, 0, rows, 0, time.UTC).Format(time.RFC3339); wm != want {
		t.Errorf("watermark %q, want %q", wm, want)
	}
	var created int64
	var parts int
	if err := pg.QueryRow("SELECT coalesce(sum(created), 0), count(*) FROM crmsync_sync_history WHERE entity = 'job' AND created > 0").Scan(&created, &parts); err != nil {
		t.Fatal(err)
	}
	if created != rows || parts != 8 {
		t.Errorf("history: %d created over %d syncs, want %d over the 8 partitions", created, parts, rows)
	}
	for i, l := range replicas {
		t.Logf("replica %d: %d partition completions", i+1, l.count(`"msg":"Completed part job sync`))
		if c := l.count(`"partition":"p`); c == 0 {
			t.Errorf("replica %d ran no partition:\n%s", i+1, l.String())
		}
		if c := l.count(`"level":"ERROR"`); c > 0 {
			t.Errorf("replica %d logged %d errors:\n%s", i+1, c, l.String())
		}
	}
}

func jsonLogger(l *logs) *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
