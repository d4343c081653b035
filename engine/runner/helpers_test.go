package runner_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// dropSchema removes a benchmark's PostgreSQL schema.
func dropSchema(dsn, schema string) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return
	}
	defer db.Close()
	db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
}

// openPostgres opens the destination in a schema of the test's own and a
// plain connection to read it back.
func openPostgres(t *testing.T) (sink.Destination, *sql.DB) {
	t.Helper()
	skipWithout(t, "CRMSYNC_PG_DSN")
	base := os.Getenv("CRMSYNC_PG_DSN")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	schema := fmt.Sprintf("runner_%d", rand.Uint32())
	d, err := sink.Open(context.Background(), base+"&schema="+schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); dropSchema(base, schema) })
	db, err := sql.Open("pgx", base+"&search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return d, db
}

// skipWithout skips a test that needs the database env names when it is
// set to none (make unit); otherwise a missing server fails the test.
func skipWithout(t testing.TB, env string) {
	t.Helper()
	if os.Getenv(env) == "none" {
		t.Skip(env + "=none: skipping a test that needs this database")
	}
}
