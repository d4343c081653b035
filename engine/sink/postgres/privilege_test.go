package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestLeastPrivilegeRole: the least-privilege set-up of docs/guides/destinations.md — a schema
// made beforehand, USAGE and CREATE on it granted to a role without
// CREATE on the database — is enough to run: crmsync does not try to
// create a schema that exists.
func TestLeastPrivilegeRole(t *testing.T) {
	dsn := testDSN(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL is needed for these tests (set CRMSYNC_PG_DSN, or CRMSYNC_PG_DSN=none to skip): %v", err)
	}
	defer admin.Close(ctx)
	n := rand.Int64N(1e12)
	role, schema := fmt.Sprintf("crmsync_loader_%d", n), fmt.Sprintf("crmsync_lp_%d", n)
	for _, s := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"CREATE SCHEMA " + schema,
		"GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role,
	} {
		if _, err := admin.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		admin.Exec(context.Background(), "DROP OWNED BY "+role)
		admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	var canCreate bool
	if err := admin.QueryRow(ctx, "SELECT has_database_privilege($1, current_database(), 'CREATE')", role).Scan(&canCreate); err != nil || canCreate {
		t.Fatalf("the role must not have CREATE on the database (%v, %v)", canCreate, err)
	}
	u, err := url.Parse(withSchema(t, dsn, schema))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	d, err := Open(ctx, u.String())
	if err != nil {
		t.Fatalf("opening as a least-privilege role: %v", err)
	}
	defer d.Close()
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	id, err := d.StartSync(ctx, &sink.Sync{Pipeline: "p", Entity: "contacts", Status: sink.StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	if res := mustWrite(t, d, &sink.Batch{SyncID: id, Pipeline: "p", Entity: "contacts", Table: tbl, Rows: contacts(1, 5, "a")}); res.Created != 5 {
		t.Errorf("created %d, want 5", res.Created)
	}
}
