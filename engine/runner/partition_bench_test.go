package runner_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
)

// BenchmarkPartitionedBackfill is a first sync of the 42-column job-like
// MariaDB table of BenchmarkSQLFirstSync into PostgreSQL, in one process,
// as 1, 2 and 4 partitions (partitions: N, run at once), each into a
// fresh schema. It reports records/s per case; the log line gives the
// ratios to one partition. CRMSYNC_BENCH_ROWS sets the rows (default
// 1,000,000); the machine is shared, so the figures are noisy.
func BenchmarkPartitionedBackfill(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("CRMSYNC_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	base := os.Getenv("CRMSYNC_MYSQL_DSN")
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/test"
	}
	cfg, err := mysqldrv.ParseDSN(base)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("crmsync_pbench_%08x", rand.Uint32())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		b.Fatal(err)
	}
	defer admin.Exec("DROP DATABASE " + name)
	cfg.DBName = name
	var cols, fills, fields []string
	for _, c := range jobColumns {
		cols = append(cols, c.name+" "+c.sqlType)
		fills = append(fills, c.fill)
		fields = append(fields, fmt.Sprintf("      %s: {type: %s}", c.name, c.field))
	}
	if _, err := admin.Exec("CREATE TABLE " + name + ".job (" + strings.Join(cols, ", ") + ", KEY (updated_at), KEY (add_date)) DEFAULT CHARSET utf8mb4"); err != nil {
		b.Fatal(err)
	}
	for lo := 1; lo <= n; lo += 200_000 {
		if _, err := admin.Exec(fmt.Sprintf("INSERT INTO %s.job SELECT %s FROM seq_%d_to_%d", name, strings.Join(fills, ", "), lo, min(n, lo+200_000-1))); err != nil {
			b.Fatal(err)
		}
	}
	rates := map[int]float64{}
	for _, parts := range []int{1, 2, 4} {
		src := fmt.Sprintf(`version: 1
name: bench
source: {type: sql, driver: mysql, dsn: %q}
entities:
  job:
    from: job
    primary_key: [id]
    batch_size: 5000
    partitions: %d
    incremental: {field: updated_at, fallback: add_date, lookback: 5m}
    fields:
%s
`, cfg.FormatDSN(), parts, strings.Join(fields, "\n"))
		plan, f := pipeline.Load("bench.yaml", []byte(src), pipeline.Options{})
		if plan == nil {
			b.Fatal(f)
		}
		b.Run(fmt.Sprintf("partitions=%d", parts), func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dest := benchDest(b)
				b.StartTimer()
				start := time.Now()
				r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Parallel: parts})
				total += time.Since(start)
				b.StopTimer()
				if r.Err != nil || r.Created != int64(n) {
					b.Fatalf("%+v %v", r.Sync, r.Err)
				}
				dest.Close()
				b.StartTimer()
			}
			rates[parts] = float64(n) * float64(b.N) / total.Seconds()
			b.ReportMetric(rates[parts], "records/s")
		})
	}
	if rates[1] > 0 {
		b.Logf("%d rows × 42 columns, one process: 1 partition %.0f records/s; 2 partitions %.0f (%.2f×); 4 partitions %.0f (%.2f×)",
			n, rates[1], rates[2], rates[2]/rates[1], rates[4], rates[4]/rates[1])
	}
}
