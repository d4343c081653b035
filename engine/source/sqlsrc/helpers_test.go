package sqlsrc

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
)

func pgDSN() string {
	if v := os.Getenv("CRMSYNC_PG_DSN"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

func myDSN() string {
	if v := os.Getenv("CRMSYNC_MYSQL_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/test"
}

// testDB is a scratch database (mysql) or schema (postgres) made for one
// test and dropped when it ends; dsn reaches it, prefix qualifies names.
// In SQL and YAML given to it, {s} stands for the schema prefix.
type testDB struct {
	driver string
	dsn    string
	prefix string // "schema." on postgres, "" on mysql (the DSN names the database)
	exec   func(t testing.TB, sql string, args ...any)
}

// Type tokens let one CREATE TABLE serve both databases.
var (
	pgTokens = strings.NewReplacer("{ts}", "timestamp", "{text}", "text")
	myTokens = strings.NewReplacer("{ts}", "datetime(6)", "{text}", "varchar(200)")
)

// values writes n rows of a multi-row VALUES list.
func values(n int, row func(i int) string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString(row(i))
	}
	return b.String()
}

func randomName() string { return fmt.Sprintf("crmsync_t_%08x", rand.Uint32()) }

func newPG(t testing.TB) *testDB {
	t.Helper()
	skipWithout(t, "CRMSYNC_PG_DSN")
	ctx := context.Background()
	c, err := pgx.Connect(ctx, pgDSN())
	if err != nil {
		t.Fatalf("PostgreSQL is needed for this test (CRMSYNC_PG_DSN=%q): %v", pgDSN(), err)
	}
	schema := randomName()
	if _, err := c.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		c.Close(context.Background())
	})
	return &testDB{driver: "postgres", dsn: pgDSN(), prefix: schema + ".", exec: func(t testing.TB, q string, args ...any) {
		t.Helper()
		q = pgTokens.Replace(strings.ReplaceAll(q, "{s}", schema+"."))
		if _, err := c.Exec(ctx, q, args...); err != nil {
			t.Fatalf("exec %s: %v", q, err)
		}
	}}
}

func newMy(t testing.TB) *testDB {
	t.Helper()
	skipWithout(t, "CRMSYNC_MYSQL_DSN")
	cfg, err := mysqldrv.ParseDSN(myDSN())
	if err != nil {
		t.Fatalf("CRMSYNC_MYSQL_DSN: %v", err)
	}
	admin, err := sql.Open("mysql", myDSN())
	if err == nil {
		err = admin.Ping()
	}
	if err != nil {
		t.Fatalf("MariaDB/MySQL is needed for this test (CRMSYNC_MYSQL_DSN=%q): %v", myDSN(), err)
	}
	name := randomName()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("SET SESSION sql_mode = '', time_zone = '+00:00'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
		admin.Close()
	})
	return &testDB{driver: "mysql", dsn: cfg.FormatDSN(), exec: func(t testing.TB, q string, args ...any) {
		t.Helper()
		q = myTokens.Replace(strings.ReplaceAll(q, "{s}", ""))
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("exec %s: %v", q, err)
		}
	}}
}

// opts are what a test varies besides the YAML.
type opts struct {
	batch int
	tz    *time.Location
}

// compileEntity decodes an entity written in YAML and compiles it
// against the test database.
func (db *testDB) compile(t testing.TB, entityYAML string, o opts) (source.Opener, []source.Problem) {
	t.Helper()
	return compileYAML(t, db.driver, db.dsn, strings.ReplaceAll(entityYAML, "{s}", db.prefix), o)
}

func compileYAML(t testing.TB, driver, dsn, entityYAML string, o opts) (source.Opener, []source.Problem) {
	t.Helper()
	src := &config.Source{Type: "sql", Settings: &SourceConfig{Driver: driver, DSN: config.NewSecret(dsn)}}
	ent := &config.Entity{Name: "e"}
	cfg := &EntityConfig{}
	if err := yaml.Unmarshal([]byte(entityYAML), ent); err != nil {
		t.Fatalf("entity YAML: %v", err)
	}
	if err := yaml.Unmarshal([]byte(entityYAML), cfg); err != nil {
		t.Fatalf("entity YAML: %v", err)
	}
	ent.Settings = cfg
	if ent.Incremental != nil && ent.Incremental.Field == "" {
		ent.Incremental = nil
	}
	if o.batch == 0 {
		o.batch = 500
	}
	return compile(&source.Spec{Pipeline: "p", Source: src, Entity: ent, Path: "/entities/e", BatchSize: o.batch, Timezone: o.tz})
}

func (db *testDB) open(t testing.TB, entityYAML string, o opts) source.Reader {
	t.Helper()
	op, probs := db.compile(t, entityYAML, o)
	if op == nil {
		t.Fatalf("compile: %v", probs)
	}
	r, err := op.Open(context.Background(), &source.Env{Redact: func(s string) string { return s }})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return r
}

// readResult is what one Read gave.
type readResult struct {
	pages   []source.Page
	records []map[string]any
	resume  string // Resume of the last page emitted
	stopped bool   // emit failed on purpose before the read ended
	err     error
}

// read runs one Read; stopAfter > 0 makes emit fail after that many
// pages, as a killed sync would.
func read(t testing.TB, r source.Reader, st source.ReadState, stopAfter int) readResult {
	t.Helper()
	var res readResult
	errStop := errors.New("stop")
	res.err = r.Read(context.Background(), st, func(p source.Page) error {
		if stopAfter > 0 && len(res.pages) == stopAfter {
			res.stopped = true
			return errStop
		}
		res.pages = append(res.pages, p)
		for _, rec := range p.Records {
			res.records = append(res.records, decode(t, rec.JSON))
		}
		res.resume = p.Resume
		return nil
	})
	if res.stopped != errors.Is(res.err, errStop) {
		t.Fatalf("read: emit stopped: %v, error %v", res.stopped, res.err)
	}
	if res.stopped {
		res.err = nil
	} else if res.err != nil {
		t.Fatalf("read: %v", res.err)
	}
	return res
}

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("record is not JSON: %v\n%s", err, s)
	}
	return m
}

// ids lists a field of every record, as text.
func ids(recs []map[string]any, field string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprint(r[field])
	}
	return out
}

// resumeAfter reads the rest of an entity after a killed read: nothing
// when the first read was not killed, which must then have left "".
func resumeAfter(t testing.TB, r source.Reader, st source.ReadState, first readResult) []map[string]any {
	t.Helper()
	if !first.stopped {
		if first.resume != "" {
			t.Fatalf("a complete read left the position %q: the next sync would not start over", first.resume)
		}
		return nil
	}
	if first.resume == "" {
		t.Fatalf("a read killed after %d pages left no position", len(first.pages))
	}
	st.Resume = first.resume
	return read(t, r, st, 0).records
}

// pageSizes lists the record count of each page with records (a last
// empty page only carries the end of the read: a full read's catch-up
// that found nothing).
func pageSizes(pages []source.Page) []int {
	var out []int
	for _, p := range pages {
		if len(p.Records) > 0 {
			out = append(out, len(p.Records))
		}
	}
	return out
}

// canon re-encodes a record with sorted keys, for comparisons.
func canon(t testing.TB, rec map[string]any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(b.String())
}

// skipWithout skips a test that needs the database env names when it is
// set to none (make unit); otherwise a missing server fails the test.
func skipWithout(t testing.TB, env string) {
	t.Helper()
	if os.Getenv(env) == "none" {
		t.Skip(env + "=none: skipping a test that needs this database")
	}
}
