package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

const defaultTestDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testDSN is the server the tests use; CRMSYNC_PG_DSN=none skips them.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("CRMSYNC_PG_DSN")
	if dsn == "none" {
		tb.Skip("CRMSYNC_PG_DSN=none: skipping PostgreSQL tests")
	}
	if dsn == "" {
		dsn = defaultTestDSN
	}
	return dsn
}

// withSchema adds schema=name to dsn.
func withSchema(tb testing.TB, dsn, schema string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("CRMSYNC_PG_DSN: %v", err)
	}
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openTest opens a destination in a fresh schema dropped at cleanup.
func openTest(tb testing.TB) (*DB, *pgx.Conn) {
	tb.Helper()
	dsn := testDSN(tb)
	schema := fmt.Sprintf("crmsync_test_%d_%d", time.Now().UnixNano()%1e9, rand.IntN(1e6))
	ctx := context.Background()
	d, err := Open(ctx, withSchema(tb, dsn, schema))
	if err != nil {
		tb.Fatalf("PostgreSQL is needed for these tests (set CRMSYNC_PG_DSN, or CRMSYNC_PG_DSN=none to skip): %v", err)
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connecting: %v", err)
	}
	tb.Cleanup(func() {
		d.Close()
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+quote(schema)+" CASCADE"); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
		admin.Close(context.Background())
	})
	if _, err := admin.Exec(ctx, "SET search_path = "+quote(schema)); err != nil {
		tb.Fatal(err)
	}
	return d, admin
}

// contactsTable is a small keyed table used by many tests.
func contactsTable() *sink.Table {
	return &sink.Table{
		Name: "contacts",
		Columns: []sink.Column{
			{Name: "id", Type: value.Integer},
			{Name: "email", Type: value.Email},
			{Name: "score", Type: value.Decimal},
		},
		PrimaryKey: []string{"id"},
	}
}

func contact(id int64, email string) sink.Row {
	return sink.Row{Values: []any{id, email, nil}}
}

func mustPrepare(tb testing.TB, d *DB, t *sink.Table) {
	tb.Helper()
	if err := d.Prepare(context.Background(), t); err != nil {
		tb.Fatalf("Prepare(%s): %v", t.Name, err)
	}
}

func mustWrite(tb testing.TB, d *DB, b *sink.Batch) sink.Result {
	tb.Helper()
	if b.Pipeline == "" {
		b.Pipeline, b.Entity = "crm", "contacts"
	}
	r, err := d.Write(context.Background(), b)
	if err != nil {
		tb.Fatalf("Write: %v", err)
	}
	return r
}

func count(tb testing.TB, c *pgx.Conn, sql string, args ...any) int {
	tb.Helper()
	var n int
	if err := c.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestOpenViaRegistry(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	schema := fmt.Sprintf("crmsync_test_reg_%d", rand.IntN(1e9))
	for _, scheme := range []string{"postgres", "postgresql"} {
		u := strings.Replace(withSchema(t, dsn, schema), "postgres:", scheme+":", 1)
		dest, err := sink.Open(ctx, u)
		if err != nil {
			t.Fatalf("sink.Open(%s://…): %v", scheme, err)
		}
		if err := dest.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		dest.Close()
	}
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	defer admin.Exec(ctx, "DROP SCHEMA "+quote(schema)+" CASCADE")
	for _, tbl := range []string{tableHistory, tableState, tableRejects} {
		if n := count(t, admin, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = $2", schema, tbl); n != 1 {
			t.Errorf("state table %s.%s not created", schema, tbl)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	testDSN(t)
	ctx := context.Background()
	tests := []struct {
		dsn  string
		want []string // substrings of the error
	}{
		{"postgres://alice:s3cr3t-pw@127.0.0.1:1/warehouse?sslmode=disable&connect_timeout=2", []string{`host "127.0.0.1"`, `database "warehouse"`}},
		{"postgres://alice:s3cr3t-pw@127.0.0.1:5432/no_such_db_crmsync?sslmode=disable", []string{`database "no_such_db_crmsync"`}},
		{"postgres://alice:s3cr3t-pw@bad host:5432/x", []string{"parsing the DSN"}},
		{"mysql://alice:s3cr3t-pw@host/x", []string{`scheme "mysql"`}},
		{"postgres://alice:s3cr3t-pw@127.0.0.1/x?schema=" + strings.Repeat("s", 64), []string{"longer than 63"}},
	}
	for _, tt := range tests {
		_, err := Open(ctx, tt.dsn)
		if err == nil {
			t.Errorf("Open(%q) succeeded", tt.dsn)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("error shows the password: %v", err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Open(%q) error %q does not contain %q", tt.dsn, err, w)
			}
		}
	}
}

// TestCommitMode: batches commit asynchronously unless the DSN sets
// synchronous_commit, and the setting stays inside the batch transaction.
func TestCommitMode(t *testing.T) {
	d, _ := openTest(t)
	ctx := context.Background()
	if d.commitMode == "" {
		t.Error("batches commit synchronously by default")
	}
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	mustWrite(t, d, &sink.Batch{Table: tbl, Rows: []sink.Row{contact(1, "a")}})
	var setting string
	if err := d.pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&setting); err != nil || setting != "on" {
		t.Errorf("synchronous_commit outside a batch is %q (%v), want on", setting, err)
	}
	u, _ := url.Parse(withSchema(t, testDSN(t), d.Schema()))
	q := u.Query()
	q.Set("synchronous_commit", "on")
	u.RawQuery = q.Encode()
	durable, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer durable.Close()
	if durable.commitMode != "" {
		t.Errorf("a DSN with synchronous_commit=on still gets %q", durable.commitMode)
	}
}
