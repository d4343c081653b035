// Package pipelines_test runs the shipped pipelines (the *.yaml beside it),
// unchanged, against recorded CRM answers (<crm>.fixtures/, testdata/crm/<crm>/), real
// databases and real files, into a real PostgreSQL destination.
package pipelines_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/postgres"
	_ "github.com/crmsync/crmsync/engine/sink/sqlite"
	_ "github.com/crmsync/crmsync/engine/source/filesrc"
	_ "github.com/crmsync/crmsync/engine/source/githubsrc"
	_ "github.com/crmsync/crmsync/engine/source/httpsrc"
	_ "github.com/crmsync/crmsync/engine/source/sqlsrc"
)

// pgDSN is the PostgreSQL server the tests write to (and SalesPro reads from).
func pgDSN() string {
	if v := os.Getenv("CRMSYNC_PG_DSN"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// myDSN is the MariaDB server the Genius tests read from.
func myDSN() string {
	if v := os.Getenv("CRMSYNC_MYSQL_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

// withParams adds query parameters to a URL-shaped DSN.
func withParams(t testing.TB, dsn string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parsing DSN: %v", err)
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func scratchName(prefix string) string {
	return fmt.Sprintf("%s_%08x", prefix, rand.Uint32())
}

// dest is a PostgreSQL destination in a schema of its own, dropped when
// the test ends, with a handle to read what was written.
type dest struct {
	sink.Destination
	db     *sql.DB
	schema string
}

func openDest(t *testing.T) *dest {
	t.Helper()
	skipWithout(t, "CRMSYNC_PG_DSN")
	ctx := context.Background()
	schema := scratchName("pl")
	d, err := sink.Open(ctx, withParams(t, pgDSN(), "schema", schema))
	if err != nil {
		t.Fatalf("opening the postgres destination: %v", err)
	}
	db, err := sql.Open("pgx", withParams(t, pgDSN(), "search_path", schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
		db.Close()
	})
	return &dest{Destination: d, db: db, schema: schema}
}

// rows returns each row of a query as its columns' text joined by "|",
// NULL written as ∅.
func (d *dest) rows(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rs, err := d.db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			parts[i] = "∅"
			if v.Valid {
				parts[i] = v.String
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func (d *dest) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := d.db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return n
}

// columnTypes maps each column of a table to its PostgreSQL type.
func (d *dest) columnTypes(t *testing.T, table string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, r := range d.rows(t, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2`, d.schema, table) {
		k, v, _ := strings.Cut(r, "|")
		m[k] = v
	}
	if len(m) == 0 {
		t.Fatalf("table %s does not exist", table)
	}
	return m
}

// wantTypes checks the PostgreSQL types of some columns.
func (d *dest) wantTypes(t *testing.T, table string, want map[string]string) {
	t.Helper()
	got := d.columnTypes(t, table)
	for col, typ := range want {
		if got[col] != typ {
			t.Errorf("%s.%s is %q, want %q", table, col, got[col], typ)
		}
	}
}

// rejects lists an entity's rejected records as "record_id: reasons".
func (d *dest) rejects(t *testing.T, pipe, entity string) []string {
	t.Helper()
	return d.rows(t, `SELECT record_id || ': ' || reasons::text FROM crmsync_rejects WHERE pipeline = $1 AND entity = $2 ORDER BY id`, pipe, entity)
}

func (d *dest) watermark(t *testing.T, pipe, entity string) string {
	t.Helper()
	cp, err := d.Checkpoint(context.Background(), pipe, entity)
	if err != nil {
		t.Fatal(err)
	}
	return cp.Watermark
}

// loadPlan loads pipelines/<crm>.yaml exactly as `crmsync run` does,
// after setting the environment the file reads.
func loadPlan(t *testing.T, crm string, env map[string]string) *pipeline.Plan {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	plan, findings := pipeline.LoadFile(crm+".yaml", pipeline.Options{StrictEnv: true})
	if plan == nil {
		t.Fatalf("loading pipelines/%s.yaml:\n%v", crm, findings)
	}
	return plan
}

// logBuffer collects log output so tests can look for the blueprint's
// messages (validation warnings, completions).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Writer(l), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// syncRound runs every entity of the plan once, in file order, and
// returns the results by entity. A sync that fails stops the test.
func syncRound(t *testing.T, plan *pipeline.Plan, d *dest, logs *logBuffer, o runner.Options) map[string]*runner.Result {
	t.Helper()
	o.Dest = d.Destination // the destination itself, so its optional interfaces (FullRefresher) show
	if logs != nil {
		o.Logger = logs.logger()
	} else {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	out := map[string]*runner.Result{}
	for _, e := range plan.Entities {
		r := runner.Sync(context.Background(), plan, e, o)
		if r.Err != nil {
			t.Fatalf("%s %s: %v", plan.Name, e.Name, r.Err)
		}
		out[e.Name] = r
	}
	return out
}

// counts is the part of a sync result the tests compare.
type counts struct {
	Processed, Created, Updated, Unchanged, Rejected int64
}

func (c counts) String() string {
	return fmt.Sprintf("processed %d created %d updated %d unchanged %d rejected %d", c.Processed, c.Created, c.Updated, c.Unchanged, c.Rejected)
}

func countsOf(r *runner.Result) counts {
	return counts{r.Processed, r.Created, r.Updated, r.Unchanged, r.Rejected}
}

// wantCounts compares the sync results of several entities.
func wantCounts(t *testing.T, got map[string]*runner.Result, want map[string]counts) {
	t.Helper()
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r, ok := got[n]
		if !ok {
			t.Errorf("entity %s was not synced", n)
			continue
		}
		if c := countsOf(r); c != want[n] {
			t.Errorf("%s: %v, want %v", n, c, want[n])
		}
	}
}

// wantRows compares a query's rows with the expected ones.
func wantRows(t *testing.T, d *dest, q string, want ...string) {
	t.Helper()
	got := d.rows(t, q)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s\ngot:\n  %s\nwant:\n  %s", q, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// skipWithout skips a test that needs the database env names when it is
// set to none (make unit); otherwise a missing server fails the test.
func skipWithout(t testing.TB, env string) {
	t.Helper()
	if os.Getenv(env) == "none" {
		t.Skip(env + "=none: skipping a test that needs this database")
	}
}
