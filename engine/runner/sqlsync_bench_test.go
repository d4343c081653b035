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
	"github.com/crmsync/crmsync/engine/source"
	_ "github.com/crmsync/crmsync/engine/source/sqlsrc"
)

// jobColumns is a Genius-like job table of 42 columns: name, MariaDB
// type, the expression that fills it from seq, and the field type.
var jobColumns = []struct{ name, sqlType, fill, field string }{
	{"id", "int(11) NOT NULL PRIMARY KEY", "seq", "integer"},
	{"client_cid", "int(11)", "100000 + seq", "integer"},
	{"prospect_id", "int(11)", "seq DIV 2", "integer"},
	{"division_id", "int(11)", "seq % 40", "integer"},
	{"user_id", "int(11)", "seq % 500", "integer"},
	{"production_user_id", "int(11)", "IF(seq % 3 = 0, NULL, seq % 300)", "integer"},
	{"contract_date", "date", "'2020-01-01' + INTERVAL (seq % 1500) DAY", "date"},
	{"contract_amount", "decimal(12,2)", "(seq % 100000) / 100 + 1000", "decimal"},
	{"job_value", "decimal(12,2)", "(seq % 90000) / 100 + 900", "decimal"},
	{"sold_user_id", "int(11)", "seq % 450", "integer"},
	{"sold_date", "datetime", "'2020-01-01' + INTERVAL (seq * 37) SECOND", "datetime"},
	{"start_date", "date", "IF(seq % 4 = 0, NULL, '2020-02-01' + INTERVAL (seq % 1400) DAY)", "date"},
	{"end_date", "date", "IF(seq % 2 = 0, NULL, '2020-03-01' + INTERVAL (seq % 1300) DAY)", "date"},
	{"cancel_date", "date", "IF(seq % 25 = 0, '2021-01-01', NULL)", "date"},
	{"install_date", "date", "'2020-02-15' + INTERVAL (seq % 1400) DAY", "date"},
	{"status_id", "int(11)", "seq % 6", "integer"},
	{"permit_number", "varchar(32)", "CONCAT('DEN-', seq)", "text"},
	{"add_user_id", "int(11)", "seq % 200", "integer"},
	{"add_date", "datetime NOT NULL", "'2019-01-01' + INTERVAL seq MINUTE", "datetime"},
	{"updated_at", "datetime", "IF(seq % 20 = 0, NULL, '2024-01-01' + INTERVAL (seq DIV 10) SECOND)", "datetime"},
	{"job_number", "varchar(20)", "LPAD(seq, 8, '0')", "text"},
	{"label", "varchar(120)", "CONCAT('Roof replacement ', seq % 1000)", "text"},
	{"address1", "varchar(120)", "CONCAT(seq % 9999, ' Larimer St')", "text"},
	{"address2", "varchar(60)", "IF(seq % 5 = 0, CONCAT('Apt ', seq % 50), NULL)", "text"},
	{"city", "varchar(60)", "ELT(1 + seq % 4, 'Denver', 'Boulder', 'Austin', 'Dallas')", "text"},
	{"state", "char(2)", "ELT(1 + seq % 2, 'CO', 'TX')", "text"},
	{"zip", "varchar(10)", "LPAD(80000 + seq % 999, 5, '0')", "text"},
	{"notes", "text", "IF(seq % 3 = 0, 'Customer asked for a call back,\\r\\n \"after 5pm\" 😀', NULL)", "text"},
	{"financing_amount", "decimal(12,2)", "IF(seq % 2 = 0, (seq % 50000) / 10, NULL)", "decimal"},
	{"deposit_amount", "decimal(12,2)", "(seq % 5000) / 10", "decimal"},
	{"balance_due", "decimal(12,2)", "(seq % 70000) / 10", "decimal"},
	{"is_active", "tinyint(1)", "seq % 2", "boolean"},
	{"is_financed", "tinyint(1)", "seq % 3 = 0", "boolean"},
	{"is_commercial", "tinyint(1)", "seq % 17 = 0", "boolean"},
	{"sales_rep_name", "varchar(80)", "CONCAT('Rep ', seq % 450)", "text"},
	{"crew_id", "int(11)", "IF(seq % 7 = 0, NULL, seq % 90)", "integer"},
	{"warranty_years", "int(11)", "5 + seq % 20", "integer"},
	{"squares", "decimal(8,2)", "(seq % 6000) / 100", "decimal"},
	{"color", "varchar(40)", "ELT(1 + seq % 3, 'Charcoal', 'Weathered Wood', 'Slate')", "text"},
	{"material", "varchar(40)", "ELT(1 + seq % 2, 'Asphalt', 'Metal')", "text"},
	{"lead_source", "varchar(60)", "ELT(1 + seq % 3, 'Home Show', 'Referral', 'Web')", "text"},
	{"completed_at", "datetime", "IF(seq % 2 = 0, '2022-01-01' + INTERVAL seq SECOND, NULL)", "datetime"},
}

// BenchmarkSQLFirstSync is a first sync of a 42-column, Genius job-like
// MariaDB table into PostgreSQL (read by primary-key keyset, the record
// path, COPY and merge), against a plain client SELECT * of the same
// table over the same driver and DSN, measured in the same run. It
// reports both rates and their ratio. CRMSYNC_BENCH_ROWS sets the rows
// (default 1,000,000); CRMSYNC_BENCH_BATCH the batch size (default 5,000).
func BenchmarkSQLFirstSync(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("CRMSYNC_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	batch := 5000
	if s := os.Getenv("CRMSYNC_BENCH_BATCH"); s != "" {
		batch, _ = strconv.Atoi(s)
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
	name := fmt.Sprintf("crmsync_bench_%08x", rand.Uint32())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		b.Fatalf("MariaDB is needed for this benchmark (CRMSYNC_MYSQL_DSN=%q): %v", base, err)
	}
	defer admin.Exec("DROP DATABASE " + name)
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	var cols, fills, fields []string
	for _, c := range jobColumns {
		cols = append(cols, c.name+" "+c.sqlType)
		fills = append(fills, c.fill)
		fields = append(fields, fmt.Sprintf("      %s: {type: %s}", c.name, c.field))
	}
	if len(jobColumns) != 42 {
		b.Fatalf("%d columns, want 42", len(jobColumns))
	}
	if _, err := admin.Exec("CREATE TABLE " + name + ".job (" + strings.Join(cols, ", ") + ", KEY (updated_at), KEY (add_date)) DEFAULT CHARSET utf8mb4"); err != nil {
		b.Fatal(err)
	}
	fillStart := time.Now()
	for lo := 1; lo <= n; lo += 200_000 {
		hi := min(n, lo+200_000-1)
		if _, err := admin.Exec(fmt.Sprintf("INSERT INTO %s.job SELECT %s FROM seq_%d_to_%d", name, strings.Join(fills, ", "), lo, hi)); err != nil {
			b.Fatal(err)
		}
	}
	// A tenth of it, to see that the read stays linear: 10× the rows in
	// about 10× the time.
	if _, err := admin.Exec(fmt.Sprintf("CREATE TABLE %[1]s.job_tenth LIKE %[1]s.job", name)); err != nil {
		b.Fatal(err)
	}
	if _, err := admin.Exec(fmt.Sprintf("INSERT INTO %[1]s.job_tenth SELECT * FROM %[1]s.job WHERE id <= %[2]d", name, n/10)); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d rows in %s", n, time.Since(fillStart).Round(time.Millisecond))

	src := fmt.Sprintf(`version: 1
name: bench
source: {type: sql, driver: mysql, dsn: %q}
entities:
  job:
    from: job
    primary_key: [id]
    batch_size: %d
    incremental: {field: updated_at, fallback: add_date, lookback: 5m}
    fields:
%s
`, dsn, batch, strings.Join(fields, "\n"))
	plan, f := pipeline.Load("bench.yaml", []byte(src), pipeline.Options{})
	if plan == nil {
		b.Fatal(f)
	}
	tenth, f := pipeline.Load("bench.yaml", []byte(strings.Replace(src, "from: job\n", "from: job_tenth\n", 1)), pipeline.Options{})
	if tenth == nil {
		b.Fatal(f)
	}

	// The plain client: SELECT * over the same driver and DSN, every
	// value read as bytes, nothing else done.
	plain := func() time.Duration {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		start := time.Now()
		rows, err := db.Query("SELECT * FROM job")
		if err != nil {
			b.Fatal(err)
		}
		vals := make([]sql.RawBytes, len(jobColumns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		got := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			got++
		}
		if err := rows.Err(); err != nil || got != n {
			b.Fatalf("plain SELECT read %d rows: %v", got, err)
		}
		rows.Close()
		return time.Since(start)
	}

	// The source alone: crmsync's keyset read, pages discarded.
	readOnly := func() time.Duration {
		rd, err := plan.Entities[0].Source.Open(context.Background(), &source.Env{Logger: quiet()})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		got := 0
		if err := rd.Read(context.Background(), source.ReadState{}, func(p source.Page) error { got += len(p.Records); return nil }); err != nil || got != n {
			b.Fatalf("source read %d rows: %v", got, err)
		}
		return time.Since(start)
	}

	var syncTime, plainTime, readTime, tenthTime time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		plainTime += plain()
		readTime += readOnly()
		{
			dest := benchDest(b)
			start := time.Now()
			r := runner.Sync(context.Background(), tenth, tenth.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
			tenthTime += time.Since(start)
			if r.Err != nil || r.Created != int64(n/10) {
				b.Fatalf("tenth: %+v %v", r.Sync, r.Err)
			}
			dest.Close()
		}
		dest := benchDest(b)
		b.StartTimer()
		start := time.Now()
		r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
		syncTime += time.Since(start)
		b.StopTimer()
		if r.Err != nil || r.Created != int64(n) {
			b.Fatalf("%+v %v", r.Sync, r.Err)
		}
		dest.Close()
		b.StartTimer()
	}
	syncRate := float64(n) * float64(b.N) / syncTime.Seconds()
	plainRate := float64(n) * float64(b.N) / plainTime.Seconds()
	b.ReportMetric(syncRate, "records/s")
	b.ReportMetric(plainRate, "select_records/s")
	readRate := float64(n) * float64(b.N) / readTime.Seconds()
	b.ReportMetric(syncRate/plainRate, "ratio")
	b.ReportMetric(readRate, "source_records/s")
	scale := syncTime.Seconds() / tenthTime.Seconds()
	b.ReportMetric(scale, "time_10x_rows")
	b.Logf("linearity: %d rows synced in %.1f× the time of %d rows (%s)", n, scale, n/10, (tenthTime / time.Duration(b.N)).Round(time.Millisecond))
	b.Logf("%d rows × 42 columns: crmsync first sync %.0f records/s (%s), plain SELECT * %.0f records/s (%s), ratio %.2f; crmsync's source read alone %.0f records/s (%s)",
		n, syncRate, (syncTime / time.Duration(b.N)).Round(time.Millisecond), plainRate, (plainTime / time.Duration(b.N)).Round(time.Millisecond), syncRate/plainRate,
		readRate, (readTime / time.Duration(b.N)).Round(time.Millisecond))
}
