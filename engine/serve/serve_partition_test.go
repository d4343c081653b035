package serve

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/postgres"
	_ "github.com/crmsync/crmsync/engine/source/sqlsrc"
)

// partitionSource makes a MariaDB database of its own holding job: rows
// rows, the last third with keys 1,000 apart (skewed); it returns the
// folder of a pipeline reading it with the given partitions.
func partitionSource(tb testing.TB, rows, partitions, batch int) string {
	tb.Helper()
	if os.Getenv("CRMSYNC_PG_DSN") == "none" || os.Getenv("CRMSYNC_MYSQL_DSN") == "none" {
		tb.Skip("needs PostgreSQL and MariaDB")
	}
	base := os.Getenv("CRMSYNC_MYSQL_DSN")
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/test"
	}
	cfg, err := mysqldrv.ParseDSN(base)
	if err != nil {
		tb.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	db := fmt.Sprintf("crmsync_serve_part_%08x", rand.Uint32())
	if _, err := admin.Exec("CREATE DATABASE " + db); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { admin.Exec("DROP DATABASE " + db); admin.Close() })
	dense := rows * 2 / 3
	if _, err := admin.Exec("CREATE TABLE " + db + ".job (id bigint PRIMARY KEY, name varchar(40), amount decimal(12,2), notes text, updated_at datetime)"); err != nil {
		tb.Fatal(err)
	}
	for lo := 1; lo <= rows; lo += 100_000 {
		if _, err := admin.Exec(fmt.Sprintf(`INSERT INTO %s.job SELECT IF(seq > %d, seq * 1000, seq), CONCAT('job ', seq), seq / 100,
			IF(seq %% 3 = 0, 'Customer asked for a call back after 5pm', NULL), '2024-01-01' + INTERVAL seq SECOND FROM seq_%d_to_%d`, db, dense, lo, min(rows, lo+100_000-1))); err != nil {
			tb.Fatal(err)
		}
	}
	cfg.DBName = db
	dir := tb.TempDir()
	content := fmt.Sprintf(`version: 1
name: part
schedule: every 2s
source: {type: sql, driver: mysql, dsn: %q}
entities:
  job:
    from: job
    primary_key: [id]
    batch_size: %d
    partitions: %d
    incremental: {field: updated_at}
    fields:
      id: {type: integer}
      name: {type: text}
      amount: {type: decimal}
      notes: {type: text}
      updated_at: {type: datetime}
`, cfg.FormatDSN(), batch, partitions)
	if err := os.WriteFile(filepath.Join(dir, "part.yaml"), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// replicas starts n serve processes' schedulers (River) on one new
// PostgreSQL schema over dir; it returns a connection to the schema and
// each replica's log. They stop when the test ends.
func replicas(tb testing.TB, dir string, n, maxConcurrent int) (*sql.DB, []*logs) {
	tb.Helper()
	pgBase := os.Getenv("CRMSYNC_PG_DSN")
	if pgBase == "" {
		pgBase = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	schema := fmt.Sprintf("serve_part_%d", rand.Uint32())
	pg, err := sql.Open("pgx", pgBase+"&search_path="+schema)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pg.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`); pg.Close() })
	var out []*logs
	for range n {
		dest, err := sink.Open(context.Background(), pgBase+"&schema="+schema)
		if err != nil {
			tb.Fatal(err)
		}
		l := &logs{}
		s, err := New(Options{Dir: dir, Dest: dest, MaxConcurrent: maxConcurrent,
			Logger: slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelInfo}))})
		if err != nil {
			tb.Fatal(err)
		}
		if p := s.Reload(true); len(p) != 0 {
			tb.Fatal(p)
		}
		if err := s.OpenQueue(context.Background()); err != nil {
			tb.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.Run(ctx, 5*time.Second)
		}()
		tb.Cleanup(func() { cancel(); <-done; dest.Close() })
		out = append(out, l)
	}
	return pg, out
}

// backfillDone: the entity has a watermark and no partition state left.
func backfillDone(pg *sql.DB) bool {
	var wm string
	var left int
	pg.QueryRow("SELECT coalesce(max(watermark) FILTER (WHERE entity = 'job'), ''), count(*) FILTER (WHERE entity LIKE 'job#%') FROM crmsync_state").Scan(&wm, &left)
	return wm != "" && left == 0
}

// TestPartitionsSpreadOverReplicas: two serve processes (River, one
// PostgreSQL schema) share a partitioned backfill of a MariaDB table with
// skewed keys: each runs some partitions, the table lands exactly once,
// the watermark moves once every partition committed.
func TestPartitionsSpreadOverReplicas(t *testing.T) {
	const rows = 30000
	dir := partitionSource(t, rows, 8, 200)
	pg, logs := replicas(t, dir, 2, 2)
	eventually(t, 90*time.Second, "the backfill should finish (a watermark, no plan)", func() bool { return backfillDone(pg) })
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
	for i, l := range logs {
		ran := 0
		for _, line := range strings.Split(l.String(), "\n") {
			if strings.Contains(line, `"partition":"p`) && strings.Contains(line, `Completed part job sync`) {
				ran++
			}
		}
		t.Logf("replica %d ran %d partitions", i+1, ran)
		if ran == 0 {
			t.Errorf("replica %d ran no partition:\n%s", i+1, l.String())
		}
		if c := l.count(`"level":"ERROR"`); c > 0 {
			t.Errorf("replica %d logged %d errors:\n%s", i+1, c, l.String())
		}
	}
}

// BenchmarkPartitionReplicas: a partitioned backfill (8 partitions) of
// a MariaDB table into PostgreSQL through serve, on 1 and on 2 replicas
// (processes' schedulers in this test binary, each running up to 2
// syncs at once), timed from start until the watermark moved.
// CRMSYNC_BENCH_ROWS sets the rows (default 1,000,000); the machine is
// shared, so the figures are noisy.
func BenchmarkPartitionReplicas(b *testing.B) {
	rows := 1_000_000
	if s := os.Getenv("CRMSYNC_BENCH_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	dir := partitionSource(b, rows, 8, 5000)
	rates := map[int]float64{}
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				pg, _ := replicas(b, dir, n, 2)
				for !backfillDone(pg) {
					time.Sleep(50 * time.Millisecond)
				}
				total += time.Since(start)
				var got int
				pg.QueryRow("SELECT count(*) FROM part_job").Scan(&got)
				if got != rows {
					b.Fatalf("%d rows, want %d", got, rows)
				}
			}
			rates[n] = float64(rows) * float64(b.N) / total.Seconds()
			b.ReportMetric(rates[n], "records/s")
		})
	}
	if rates[1] > 0 {
		b.Logf("%d rows, 8 partitions: 1 replica %.0f records/s, 2 replicas %.0f records/s (%.2f×)", rows, rates[1], rates[2], rates[2]/rates[1])
	}
}
