package sqlsrc

import (
	"context"
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
