package postgres

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// The load-path benchmark: N ten-column rows (CRMSYNC_BENCH_ROWS, default
// 1,000,000) upserted in batches (CRMSYNC_BENCH_BATCH, default 5000), as
// rows/s and as a ratio (x_copy) to one plain pgx CopyFrom of the same
// rows into a plain table with the same columns and key, measured in the
// same run. Run with -benchtime=1x:
//
//	go test -run '^$' -bench Load -benchtime=1x ./engine/sink/postgres/

func benchRows(b *testing.B) int {
	n := 1_000_000
	if s := os.Getenv("CRMSYNC_BENCH_ROWS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("CRMSYNC_BENCH_ROWS=%q: want a positive number", s)
		}
		n = v
	}
	return n
}

func benchBatch(b *testing.B) int {
	n := 5000
	if s := os.Getenv("CRMSYNC_BENCH_BATCH"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("CRMSYNC_BENCH_BATCH=%q: want a positive number", s)
		}
		n = v
	}
	return n
}

func benchTable() *sink.Table {
	return &sink.Table{
		Name: "bench",
		Columns: []sink.Column{
			{Name: "id", Type: value.Integer},
			{Name: "name", Type: value.String},
			{Name: "email", Type: value.Email},
			{Name: "city", Type: value.String},
			{Name: "status", Type: value.String},
			{Name: "amount", Type: value.Decimal},
			{Name: "updated_at", Type: value.Datetime},
			{Name: "active", Type: value.Boolean},
			{Name: "score", Type: value.Float},
			{Name: "props", Type: value.JSON},
		},
		PrimaryKey: []string{"id"},
	}
}

var (
	benchCities   = []string{"Denver", "Austin", "Boston", "Seattle", "Omaha", "Tampa", "Reno", "Boise"}
	benchStatuses = []string{"lead", "prospect", "customer", "churned"}
	benchEpoch    = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
)

// benchValues fills vals with row i of version v (a new version changes
// every row).
func benchValues(vals []any, i, v int) {
	vals[0] = int64(i)
	vals[1] = "Customer " + strconv.Itoa(i)
	vals[2] = "customer" + strconv.Itoa(i) + "@example.com"
	vals[3] = benchCities[i%len(benchCities)]
	vals[4] = benchStatuses[(i+v)%len(benchStatuses)]
	vals[5] = decimal.New(int64(i*37%100000+v), -2)
	vals[6] = benchEpoch.Add(time.Duration(i+v) * time.Second)
	vals[7] = (i+v)%2 == 0
	vals[8] = float64(i%1000) / 7
	vals[9] = json.RawMessage(`{"source":"web","visits":` + strconv.Itoa(i%50+v) + `}`)
}

// produce streams batches of version v from a goroutine, as the runner
// overlaps fetching with writing. Only two batches are alive at a time.
func produce(n, size, v int) <-chan []sink.Row {
	ch := make(chan []sink.Row, 1)
	go func() {
		defer close(ch)
		for from := 0; from < n; from += size {
			rows := make([]sink.Row, min(size, n-from))
			vals := make([]any, len(rows)*10)
			for k := range rows {
				rows[k].Values = vals[k*10 : k*10+10 : k*10+10]
				benchValues(rows[k].Values, from+k+1, v)
			}
			ch <- rows
		}
	}()
	return ch
}

// upsertAll writes n rows of version v and returns the summed result.
func upsertAll(b *testing.B, d *DB, tbl *sink.Table, n, size, v int) sink.Result {
	var total sink.Result
	sync := int64(v + 1)
	for rows := range produce(n, size, v) {
		r, err := d.Write(context.Background(), &sink.Batch{SyncID: sync, Pipeline: "bench", Entity: "bench", Table: tbl, Rows: rows})
		if err != nil {
			b.Fatal(err)
		}
		total.Created += r.Created
		total.Updated += r.Updated
		total.Unchanged += r.Unchanged
	}
	return total
}

// copyBaseline copies n rows with one pgx CopyFrom into a plain table and
// returns how long that took.
func copyBaseline(b *testing.B, d *DB, n int) time.Duration {
	ctx := context.Background()
	if _, err := d.pool.Exec(ctx, "DROP TABLE IF EXISTS "+d.ident("bench_copy")); err != nil {
		b.Fatal(err)
	}
	ddl := `CREATE TABLE ` + d.ident("bench_copy") + ` (id bigint PRIMARY KEY, name text, email text, city text, status text,
		amount numeric, updated_at timestamptz, active boolean, score double precision, props jsonb)`
	if _, err := d.pool.Exec(ctx, ddl); err != nil {
		b.Fatal(err)
	}
	cols := []string{"id", "name", "email", "city", "status", "amount", "updated_at", "active", "score", "props"}
	vals := make([]any, 10)
	i := 0
	start := time.Now()
	_, err := d.pool.CopyFrom(ctx, pgx.Identifier{d.schema, "bench_copy"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		benchValues(vals, i, 0)
		vals[5] = vals[5].(decimal.Decimal).String() // pgx takes numeric as text
		return vals, nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// peakRSS is the process's resident high-water mark in MB.
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

func BenchmarkLoad(b *testing.B) {
	d, _ := openTest(b)
	ctx := context.Background()
	n, size := benchRows(b), benchBatch(b)
	tbl := benchTable()
	if err := d.Prepare(ctx, tbl); err != nil {
		b.Fatal(err)
	}
	reset := func() {
		if _, err := d.pool.Exec(ctx, "TRUNCATE "+d.ident("bench")); err != nil {
			b.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		setup func() // builds the table state before the timed write
		v     int
		want  func(r sink.Result) bool
	}{
		{"fresh", reset, 0, func(r sink.Result) bool { return r.Created == n }},
		{"unchanged", func() { reset(); upsertAll(b, d, tbl, n, size, 0) }, 0, func(r sink.Result) bool { return r.Unchanged == n }},
		{"changed", func() { reset(); upsertAll(b, d, tbl, n, size, 0) }, 1, func(r sink.Result) bool { return r.Updated == n }},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("%s/rows=%d/batch=%d", c.name, n, size), func(b *testing.B) {
			b.ReportAllocs()
			// Each round times the CopyFrom baseline right before the case,
			// so both see the same machine (it is shared and its load drifts).
			var elapsed, copyElapsed time.Duration
			for range b.N {
				b.StopTimer()
				c.setup()
				// A new sync prepares its table: that is when a table is
				// found empty (fresh) or not.
				if err := d.Prepare(ctx, tbl); err != nil {
					b.Fatal(err)
				}
				if _, err := d.pool.Exec(ctx, "CHECKPOINT"); err != nil {
					b.Fatal(err)
				}
				copyElapsed += copyBaseline(b, d, n)
				if _, err := d.pool.Exec(ctx, "CHECKPOINT"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				r := upsertAll(b, d, tbl, n, size, c.v)
				elapsed += time.Since(start)
				if !c.want(r) {
					b.Fatalf("result %+v", r)
				}
			}
			rows := float64(n * b.N)
			b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
			b.ReportMetric(rows/copyElapsed.Seconds(), "copy_rows/s")
			b.ReportMetric(copyElapsed.Seconds()/elapsed.Seconds(), "x_copy")
			b.ReportMetric(peakRSS(), "peakRSS_MB")
		})
	}
}

// BenchmarkEncode is the client side of the load path alone: encoding,
// hashing and de-duplicating a batch (no database).
func BenchmarkEncode(b *testing.B) {
	tbl := benchTable()
	if err := check(tbl); err != nil {
		b.Fatal(err)
	}
	p := (&DB{schema: "bench"}).compile(tbl, tbl.Name, map[string]string{})
	rows := <-produce(5000, 5000, 0)
	e := getEncoded()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := e.encode(p, rows, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
