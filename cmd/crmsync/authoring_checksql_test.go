package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestCheckSQL: check reads one page of a PostgreSQL table, and names a
// missing database or table in plain words.
func TestCheckSQL(t *testing.T) {
	skipWithout(t, "CRMSYNC_PG_DSN")
	dsn := os.Getenv("CRMSYNC_PG_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL is needed for this test (CRMSYNC_PG_DSN=%q): %v", dsn, err)
	}
	schema := fmt.Sprintf("crmsync_check_%08x", rand.Uint32())
	for _, q := range []string{"CREATE SCHEMA " + schema,
		"CREATE TABLE " + schema + ".leads (id bigint PRIMARY KEY, email text)",
		"INSERT INTO " + schema + ".leads VALUES (1, 'a@example.com'), (2, 'b@example.com'), (3, 'not-an-email')"} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		c.Close(context.Background())
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	missingDB := *u
	missingDB.Path = "/" + schema + "_nodb"
	cases := []struct {
		name, dsn, table string
		code             int
		want             string
	}{
		{"ok", dsn, schema + ".leads", exitOK, "ok    db leads: read 3 records from the first page"},
		{"no table", dsn, schema + ".nope", exitFailed, "FAIL  db leads: the query names a table or column that is missing or not readable"},
		{"no database", missingDB.String(), schema + ".leads", exitFailed, "FAIL  db leads: the database does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AUTHORING_PG_DSN", tc.dsn)
			file := auWriteFile(t, t.TempDir(), "db.yaml", fmt.Sprintf(`version: 1
name: db
source: { type: sql, driver: postgres, dsn: "${env:AUTHORING_PG_DSN}" }
entities:
  leads:
    from: %s
    primary_key: [id]
    fields: { id: { type: integer }, email: { type: email, validate: [email] } }
`, tc.table))
			code, out, errOut := auRun("check", file)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, output:\n%s%s\nwant exit %d and %q", code, out, errOut, tc.code, tc.want)
			}
		})
	}
}
