package sqlsrc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// BenchmarkPostgresRead reads 200,000 rows of a CRM-like table from
// PostgreSQL, by key (full refresh) and by (updated_at, id) with an index.
func BenchmarkPostgresRead(b *testing.B) {
	const rows = 200_000
	db := newPG(b)
	db.exec(b, `CREATE TABLE {s}contact (id bigint PRIMARY KEY, first_name text, last_name text, email text,
		phone text, amount numeric(12,2), is_active boolean, notes text, created_at timestamptz, updated_at timestamp)`)
	db.exec(b, `INSERT INTO {s}contact SELECT i, 'First' || i, 'Last' || i, 'user' || i || '@example.com',
		'+1 555 ' || lpad((i % 10000)::text, 4, '0'), (i % 100000) / 100.0, i % 3 = 0,
		CASE WHEN i % 2 = 0 THEN 'called back, "left" a message' END,
		timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second',
		timestamp '2024-06-01 00:00:00' + (i / 50) * interval '1 second'
		FROM generate_series(1, $1) i`, rows)
	db.exec(b, "CREATE INDEX ON {s}contact (updated_at, id)")
	db.exec(b, "ANALYZE {s}contact")
	for _, c := range []struct{ name, entity string }{
		{"key", "from: {s}contact\nprimary_key: [id]\nfull_refresh: true\n"},
		{"incremental", "from: {s}contact\nprimary_key: [id]\nincremental: {field: updated_at}\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := db.open(b, c.entity, opts{batch: 1000, tz: time.UTC})
			st := source.ReadState{WatermarkTime: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Watermark: "2000-01-01T00:00:00Z"}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for b.Loop() {
				err := r.Read(context.Background(), st, func(p source.Page) error {
					n += len(p.Records)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if n%rows != 0 {
				b.Fatalf("read %d records, not a multiple of %d", n, rows)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkMySQLRows reads 5,000-row pages of a 42-column job-like
// MariaDB table through database/sql's Rows and through the driver's own
// rows (sql.Conn.Raw), in the same run: the read loop alone.
func BenchmarkMySQLRows(b *testing.B) {
	const rows = 20_000
	db := newMy(b)
	var cols, fills []string
	for i := 0; i < 42; i++ {
		switch i % 6 {
		case 0:
			cols, fills = append(cols, fmt.Sprintf("c%d int", i)), append(fills, fmt.Sprintf("seq %% %d", 1000+i))
		case 1:
			cols, fills = append(cols, fmt.Sprintf("c%d decimal(12,2)", i)), append(fills, "(seq % 100000) / 100")
		case 2:
			cols, fills = append(cols, fmt.Sprintf("c%d datetime", i)), append(fills, "'2020-01-01' + INTERVAL seq SECOND")
		case 3:
			cols, fills = append(cols, fmt.Sprintf("c%d date", i)), append(fills, "'2020-01-01' + INTERVAL (seq % 1500) DAY")
		case 4:
			cols, fills = append(cols, fmt.Sprintf("c%d varchar(60)", i)), append(fills, "CONCAT('Roof replacement ', seq)")
		default:
			cols, fills = append(cols, fmt.Sprintf("c%d varchar(60)", i)), append(fills, "NULL")
		}
	}
	db.exec(b, "CREATE TABLE job (id int PRIMARY KEY, "+strings.Join(cols, ", ")+")")
	db.exec(b, fmt.Sprintf("INSERT INTO job SELECT seq, %s FROM seq_1_to_%d", strings.Join(fills, ", "), rows))
	c, _, _, err := connectMySQL(context.Background(), db.dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer c.close()
	m := c.(*myConn)
	const q = "SELECT * FROM job WHERE id > ? ORDER BY id LIMIT 5000"
	page := func(r dbRows) (n int, last int64) {
		for r.next() {
			n++
			last, _ = strconv.ParseInt(string(r.values()[0]), 10, 64)
		}
		if err := r.err(); err != nil {
			b.Fatal(err)
		}
		return n, last
	}
	for _, way := range []string{"database_sql", "raw"} {
		b.Run(way, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				got := 0
				for last := int64(0); ; {
					var n int
					if way == "raw" {
						if _, err := m.each(context.Background(), q, []any{last}, func(r dbRows) error { n, last = page(r); return nil }); err != nil {
							b.Fatal(err)
						}
					} else {
						r, err := m.query(context.Background(), q, []any{last})
						if err != nil {
							b.Fatal(err)
						}
						n, last = page(r)
						r.close()
					}
					if got += n; n == 0 {
						break
					}
				}
				if got != rows {
					b.Fatalf("read %d rows", got)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(processCPU()-cpu0)/float64(rows*b.N), "cpu-ns/row")
		})
	}
}

// processCPU is the process's user and system time so far: on a shared
// machine a steadier measure of the client's work than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
