package runner_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/postgres"
)

// BenchmarkBackfill is the whole data path: a HubSpot-shaped API over
// loopback (pages of 100 contacts, prepared in memory so the server costs
// little), the record path (10 fields, 2 expressions, 3 validators, a
// filter) and the destination, in batches of 2,000. It reports records/s
// for an initial backfill, and the process's CPU (user + sys: the
// record path, the HTTP client and server, the destination's client;
// not PostgreSQL's own) in µs a record. CRMSYNC_BENCH_ROWS sets the number of contacts
// (default 200,000); CRMSYNC_BENCH_DEST the destination (default a
// PostgreSQL schema of its own; "sqlite" for the embedded one).
func BenchmarkBackfill(b *testing.B) {
	n := 200_000
	if s := os.Getenv("CRMSYNC_BENCH_ROWS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	pages := make([][]byte, 0, n/100+1)
	rng := rand.New(rand.NewPCG(7, 7))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for p := 0; p*100 < n; p++ {
		var sb strings.Builder
		sb.WriteString(`{"results":[`)
		for i := p * 100; i < min(n, (p+1)*100); i++ {
			if i > p*100 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"id":"%d","properties":{"email":"user%d@example.com","firstname":"Ann","lastname":"Lee%d","phone":"+1617555%04d","state":"MA","zip":"0213%d","lifecyclestage":"lead","amount":"%d.%02d"},"createdAt":"%s","updatedAt":"%s","archived":false}`,
				i+1, i, i, i%10000, i%10, rng.IntN(100000), rng.IntN(100), base.Format(time.RFC3339), base.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
		}
		sb.WriteString(`]`)
		if (p+1)*100 < n {
			fmt.Fprintf(&sb, `,"paging":{"next":{"after":"%d"}}`, p+1)
		}
		sb.WriteString(`}`)
		pages = append(pages, []byte(sb.String()))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("after"))
		w.Header().Set("Content-Type", "application/json")
		w.Write(pages[p])
	}))
	defer srv.Close()
	src := fmt.Sprintf(`version: 1
name: bench
source: {type: http, base_url: %q, records: results, paginate: {style: cursor, cursor: paging.next.after, param: after}}
entities:
  contacts:
    request: {path: /contacts}
    primary_key: id
    batch_size: 2000
    incremental: {field: updated_at, sorted: true}
    fields:
      id: {path: id, type: integer}
      email: {path: properties.email, type: email, validate: [email]}
      first_name: properties.firstname
      last_name: properties.lastname
      full_name: {expr: 'trim(concat(first_name, " ", last_name))'}
      phone: {path: properties.phone, type: phone}
      state: {path: properties.state, validate: [state]}
      zip: {path: properties.zip, validate: [zip_code]}
      amount: {path: properties.amount, type: decimal}
      created_at: {path: createdAt, type: datetime}
      updated_at: {path: updatedAt, type: datetime}
      domain: {expr: 'email_domain(email)'}
    filter: 'email != nil || phone != nil'
`, srv.URL)
	plan, f := pipeline.Load("bench.yaml", []byte(src), pipeline.Options{})
	if plan == nil {
		b.Fatal(f)
	}
	b.ReportAllocs()
	var total, cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dest := benchDest(b)
		b.StartTimer()
		start, cpu0 := time.Now(), processCPU()
		r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
		total += time.Since(start)
		cpu += processCPU() - cpu0
		b.StopTimer()
		if r.Err != nil || r.Created != int64(n) {
			b.Fatalf("%+v %v", r.Sync, r.Err)
		}
		dest.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/(float64(n)*float64(b.N)), "CPU-µs/record")
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchDest(b *testing.B) sink.Destination {
	if os.Getenv("CRMSYNC_BENCH_DEST") == "sqlite" {
		d, err := sink.Open(context.Background(), "sqlite:"+b.TempDir()+"/bench.db")
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	base := os.Getenv("CRMSYNC_PG_DSN")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	schema := fmt.Sprintf("bench_%d", rand.Uint32())
	d, err := sink.Open(context.Background(), base+"&schema="+schema)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if d2, err := sink.Open(context.Background(), base); err == nil {
			d2.Close()
		}
		dropSchema(base, schema)
	})
	return d
}
