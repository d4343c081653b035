package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// columnTypes reads name → format_type of a table.
func columnTypes(t *testing.T, admin *pgx.Conn, table string) map[string]string {
	t.Helper()
	rows, err := admin.Query(context.Background(), `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`, quote(table))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var n, ty string
	if _, err := pgx.ForEachRow(rows, []any{&n, &ty}, func() error { out[n] = ty; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPrepareCreates(t *testing.T) {
	d, admin := openTest(t)
	tbl := allTypes()
	tbl.DeleteMissing = "soft"
	mustPrepare(t, d, tbl)
	mustPrepare(t, d, tbl) // idempotent
	want := map[string]string{
		"id": "bigint", "s": "text", "phone": "text", "email": "text", "url": "text", "n": "bigint",
		"d": "numeric", "f": "double precision", "b": "boolean", "day": "date", "at": "timestamp with time zone",
		"j": "jsonb", "tags": "text[]",
		"_synced_at": "timestamp with time zone", "_sync_id": "bigint", "_row_hash": "bytea", "_raw": "jsonb",
		"_deleted_at": "timestamp with time zone",
	}
	got := columnTypes(t, admin, "all_types")
	for c, ty := range want {
		if got[c] != ty {
			t.Errorf("column %s: type %q, want %q", c, got[c], ty)
		}
	}
	if len(got) != len(want) {
		t.Errorf("columns %v, want %v", got, want)
	}
	pk, err := d.primaryKeyOf(t, "all_types")
	if err != nil || pk != "id" {
		t.Errorf("primary key %q (%v), want id", pk, err)
	}

	// Append tables have no key and no hash; names that need quoting work.
	app := &sink.Table{Name: `Odd "Name"; DROP`, Columns: []sink.Column{{Name: "Select", Type: value.String}}, Write: sink.Append}
	mustPrepare(t, d, app)
	got = columnTypes(t, admin, app.Name)
	if _, ok := got[colRowHash]; ok || got["Select"] != "text" {
		t.Errorf("append table columns %v", got)
	}
}

func (d *DB) primaryKeyOf(t *testing.T, table string) (string, error) {
	var keys []string
	err := pgx.BeginFunc(context.Background(), d.pool, func(tx pgx.Tx) (err error) {
		keys, err = d.primaryKey(context.Background(), tx, table)
		return err
	})
	return strings.Join(keys, ","), err
}

func TestPrepareEvolves(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	mustWrite(t, d, &sink.Batch{Table: tbl, Rows: []sink.Row{contact(1, "a@x.co")}})

	// A new field adds a nullable column; existing rows keep their values.
	grown := contactsTable()
	grown.Columns = append(grown.Columns, sink.Column{Name: "tags", Type: value.StringArray})
	grown.KeepRaw = true
	mustPrepare(t, d, grown)
	cols := columnTypes(t, admin, "contacts")
	if cols["tags"] != "text[]" || cols["_raw"] != "jsonb" {
		t.Fatalf("columns after adding a field: %v", cols)
	}
	r := mustWrite(t, d, &sink.Batch{Table: grown, Rows: []sink.Row{
		{Values: []any{int64(1), "a@x.co", nil, []string{"vip"}}, Raw: `{"id":1}`},
		{Values: []any{int64(2), "b@x.co", nil, nil}},
	}})
	if r != (sink.Result{Created: 1, Updated: 1}) {
		t.Errorf("write after evolution: %+v", r)
	}

	// A removed field leaves its column.
	mustPrepare(t, d, contactsTable())
	if cols := columnTypes(t, admin, "contacts"); cols["tags"] == "" {
		t.Error("a removed field dropped its column")
	}
	if n := count(t, admin, "SELECT count(*) FROM contacts WHERE tags = '{vip}'"); n != 1 {
		t.Errorf("rows keeping the removed field's value: %d, want 1", n)
	}

	// A changed type is an error that says how to migrate, and nothing changes.
	changed := contactsTable()
	changed.Columns[1].Type = value.Integer
	err := d.Prepare(ctx, changed)
	want := []string{`preparing table "contacts": column "email" is text in the database but the pipeline now declares integer (bigint)`,
		`ALTER TABLE "` + d.Schema() + `"."contacts" ALTER COLUMN "email" TYPE bigint USING "email"::bigint`,
		`DROP COLUMN "email"`}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("type change error %v, want it to contain %q", err, w)
		}
	}
	if cols := columnTypes(t, admin, "contacts"); cols["email"] != "text" {
		t.Errorf("email became %s", cols["email"])
	}

	// Another primary key is an error too.
	rekeyed := contactsTable()
	rekeyed.PrimaryKey = []string{"email"}
	if err := d.Prepare(ctx, rekeyed); err == nil || !strings.Contains(err.Error(), "primary key is (id) but the pipeline declares (email)") {
		t.Errorf("key change error %v", err)
	}

	// A hand-made varchar column is accepted for text.
	if _, err := admin.Exec(ctx, "ALTER TABLE contacts ADD COLUMN nick varchar(40)"); err != nil {
		t.Fatal(err)
	}
	nick := contactsTable()
	nick.Columns = append(nick.Columns, sink.Column{Name: "nick", Type: value.String})
	mustPrepare(t, d, nick)
	mustWrite(t, d, &sink.Batch{Table: nick, Rows: []sink.Row{{Values: []any{int64(3), nil, nil, "Al"}}}})
}

func TestPrepareRejects(t *testing.T) {
	d, _ := openTest(t)
	long := strings.Repeat("x", 64)
	cols := []sink.Column{{Name: "id", Type: value.Integer}, {Name: "tags", Type: value.StringArray}}
	tests := []struct {
		name string
		t    sink.Table
		want string
	}{
		{"long table", sink.Table{Name: long, Columns: cols, PrimaryKey: []string{"id"}}, "longer than PostgreSQL's 63-byte limit"},
		{"system column", sink.Table{Name: "t", Columns: []sink.Column{{Name: "_raw", Type: value.JSON}}, Write: sink.Append}, `column "_raw" clashes`},
		{"duplicate column", sink.Table{Name: "t", Columns: []sink.Column{cols[0], cols[0]}, PrimaryKey: []string{"id"}}, `column "id" is declared twice`},
		{"unknown key", sink.Table{Name: "t", Columns: cols, PrimaryKey: []string{"nope"}}, `primary key column "nope" is not one of its fields`},
		{"array key", sink.Table{Name: "t", Columns: cols, PrimaryKey: []string{"tags"}}, "which cannot be a key"},
		{"upsert without key", sink.Table{Name: "t", Columns: cols}, "needs a primary_key"},
		{"bad write", sink.Table{Name: "t", Columns: cols, PrimaryKey: []string{"id"}, Write: "merge"}, `unknown write mode "merge"`},
		{"delete_missing append", sink.Table{Name: "t", Columns: cols, Write: sink.Append, DeleteMissing: "hard"}, "delete_missing works with write: upsert only"},
		{"bad delete_missing", sink.Table{Name: "t", Columns: cols, PrimaryKey: []string{"id"}, DeleteMissing: "yes"}, `unknown delete_missing "yes"`},
	}
	for _, tt := range tests {
		err := d.Prepare(context.Background(), &tt.t)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestDerivedNames(t *testing.T) {
	long := strings.Repeat("é", 40) // 80 bytes
	a, b := derived(long, "__crmsync_new"), derived(long+"x", "__crmsync_new")
	if len(a) > maxIdent || len(b) > maxIdent || a == b || !strings.HasSuffix(a, "__crmsync_new") {
		t.Errorf("derived names %q (%d) and %q (%d)", a, len(a), b, len(b))
	}
	if checkName("t", a) != nil {
		t.Errorf("derived name %q is not valid UTF-8", a)
	}
	if got := derived("short", "_pkey"); got != "short_pkey" {
		t.Errorf("derived(short) = %q", got)
	}
}

// TestSyncedAtIndex: every table gets an index on _synced_at (what
// downstream incremental models filter on). An empty table gets it when
// the sync that first loads it finishes, not row by row during the load;
// a load killed before that, rows written without a sync, or a table made
// by an older version, get it at the table's next Prepare once it holds
// rows; a replace sync swaps its new table in with the index.
func TestSyncedAtIndex(t *testing.T) {
	ctx := context.Background()
	d, admin := openTest(t)
	indexes := func(table string) []string {
		t.Helper()
		rows, err := admin.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexdef LIKE '%(_synced_at)%' ORDER BY 1`, table)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	want := func(when, table string) {
		t.Helper()
		if got := indexes(table); len(got) != 1 || got[0] != table+"_synced_at_idx" {
			t.Fatalf("%s: indexes on _synced_at of %s: %v", when, table, got)
		}
	}
	none := func(when, table string) {
		t.Helper()
		if got := indexes(table); len(got) != 0 {
			t.Fatalf("%s: indexes on _synced_at of %s: %v, want none yet", when, table, got)
		}
	}
	start := func(d *DB, entity string) int64 {
		t.Helper()
		id, err := d.StartSync(ctx, &sink.Sync{Pipeline: "crm", Entity: entity, Status: sink.StatusRunning})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	finish := func(d *DB, id int64) {
		t.Helper()
		if err := d.FinishSync(ctx, &sink.Sync{ID: id, Status: sink.StatusSuccess}); err != nil {
			t.Fatal(err)
		}
	}

	// A first sync: the index comes with its end.
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	none("after Prepare of a new table", tbl.Name)
	id := start(d, "contacts")
	for b := int64(0); b < 3; b++ {
		mustWrite(t, d, &sink.Batch{SyncID: id, Table: tbl, Rows: contacts(b*10+1, b*10+10, "a")})
	}
	none("during the first load", tbl.Name)
	other := start(d, "other")
	finish(d, other) // another sync's end leaves it alone
	none("after another sync ended", tbl.Name)
	finish(d, id)
	want("after the first sync", tbl.Name)

	// An older version's table, or one whose index was dropped: the next
	// Prepare of the table with rows builds it.
	if _, err := admin.Exec(ctx, "DROP INDEX "+quote(tbl.Name+"_synced_at_idx")); err != nil {
		t.Fatal(err)
	}
	mustPrepare(t, d, tbl)
	want("after Prepare of a table with rows", tbl.Name)

	// A first load killed midway (no FinishSync): the rerun's Prepare in
	// a new process builds it, and the rerun is exact.
	killed := &sink.Table{Name: "killed", PrimaryKey: []string{"id"}, Columns: tbl.Columns}
	mustPrepare(t, d, killed)
	id = start(d, "killed")
	mustWrite(t, d, &sink.Batch{SyncID: id, Table: killed, Rows: contacts(1, 50, "a")})
	none("after a batch of a load that is then killed", killed.Name)
	d2, err := Open(ctx, withSchema(t, testDSN(t), d.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	mustPrepare(t, d2, killed)
	want("after the rerun's Prepare", killed.Name)
	id = start(d2, "killed")
	for _, rows := range [][]sink.Row{contacts(1, 50, "a"), contacts(51, 100, "a")} {
		mustWrite(t, d2, &sink.Batch{SyncID: id, Table: killed, Rows: rows})
	}
	finish(d2, id)
	if n := count(t, admin, "SELECT count(DISTINCT id) FROM killed WHERE email = 'a'"); n != 100 {
		t.Fatalf("after the rerun: %d rows, want 100", n)
	}

	// A batch without a sync (no FinishSync follows): the next Prepare.
	nosync := &sink.Table{Name: "nosync", PrimaryKey: []string{"id"}, Columns: tbl.Columns}
	mustPrepare(t, d, nosync)
	mustWrite(t, d, &sink.Batch{Table: nosync, Rows: contacts(1, 5, "a")})
	mustPrepare(t, d, nosync)
	want("after a batch without a sync and a Prepare", nosync.Name)

	// A replace sync swaps in a new table loaded without the index: it is
	// built before the swap and takes the table's name.
	tbl.Write = sink.Replace
	mustPrepare(t, d, tbl)
	for id := int64(101); id <= 102; id++ {
		fullSync(t, d, tbl, id, true, contacts(1, 10, "x"))
		want(fmt.Sprintf("after replace sync %d", id), tbl.Name)
	}
}
