package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

// sysCol is a system column and whether a table gets it.
type sysCol struct {
	name, typ string
	when      func(t *sink.Table) bool
}

var sysCols = []sysCol{
	{colSyncedAt, "timestamptz DEFAULT now()", func(*sink.Table) bool { return true }},
	{colSyncID, "bigint", func(*sink.Table) bool { return true }},
	{colRowHash, "bytea", func(t *sink.Table) bool { return hasKey(t) }},
	{colRaw, "jsonb", func(t *sink.Table) bool { return t.KeepRaw }},
	{colDeletedAt, "timestamptz", func(t *sink.Table) bool { return t.DeleteMissing == sink.DeleteSoft }},
}

func writeMode(t *sink.Table) sink.WriteMode {
	if t.Write == "" {
		return sink.Upsert
	}
	return t.Write
}

// hasKey says whether rows are merged on the primary key (upsert, or
// replace with a key); append tables never have one.
func hasKey(t *sink.Table) bool { return writeMode(t) != sink.Append && len(t.PrimaryKey) > 0 }

// Prepare creates the table, or evolves it: declared columns that are
// missing are added (nullable); a column whose type changed is an error
// that says how to migrate it; columns of removed fields are left alone.
func (d *DB) Prepare(ctx context.Context, t *sink.Table) error {
	if err := check(t); err != nil {
		return fmt.Errorf("preparing %w", err)
	}
	p, err := d.ensureTable(ctx, t, t.Name)
	if err != nil {
		return fmt.Errorf("preparing table %q: %w", t.Name, err)
	}
	d.mu.Lock()
	d.plans[t.Name] = p
	d.mu.Unlock()
	return nil
}

// ensureTable creates or evolves the table physical (the table itself, or
// a replace sync's new table) under a lock that keeps concurrent
// Prepares apart, and compiles its statements.
func (d *DB) ensureTable(ctx context.Context, t *sink.Table, physical string) (*plan, error) {
	var p *plan
	later := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", hash64("crmsync table", d.schema, physical)); err != nil {
			return err
		}
		existing, err := d.columns(ctx, tx, physical)
		if err != nil {
			return err
		}
		empty := true
		if len(existing) == 0 {
			if _, err := tx.Exec(ctx, d.createSQL(t, physical)); err != nil {
				return fmt.Errorf("creating: %w", err)
			}
		} else if err := d.evolve(ctx, tx, t, physical, existing); err != nil {
			return err
		} else if err := tx.QueryRow(ctx, "SELECT NOT EXISTS (SELECT 1 FROM "+d.ident(physical)+")").Scan(&empty); err != nil {
			return fmt.Errorf("looking for rows: %w", err)
		}
		// An empty table gets its _synced_at index after its first load
		// (index.go); one with rows gets it now if it lacks it.
		later = empty
		if !empty {
			if _, err := tx.Exec(ctx, d.syncedAtIndexSQL(physical)); err != nil {
				return fmt.Errorf("creating the _synced_at index: %w", err)
			}
		}
		if len(t.ParentKey) > 0 {
			sql := fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)",
				quote(derived(physical, "_parent_idx")), d.ident(physical), quoteList("", t.ParentKey))
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("creating the parent key index: %w", err)
			}
		}
		if existing, err = d.columns(ctx, tx, physical); err != nil {
			return err
		}
		p = d.compile(t, physical, existing)
		p.fresh.Store(empty && p.keyed)
		return nil
	})
	if err == nil {
		d.deferIndex(physical, later)
	}
	return p, err
}

// columns reads the table's columns and their types from the catalog
// (none when the table does not exist).
func (d *DB) columns(ctx context.Context, tx pgx.Tx, table string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`, d.schema, table)
	if err != nil {
		return nil, fmt.Errorf("reading columns: %w", err)
	}
	cols := map[string]string{}
	var name, typ string
	_, err = pgx.ForEachRow(rows, []any{&name, &typ}, func() error { cols[name] = typ; return nil })
	if err != nil {
		return nil, fmt.Errorf("reading columns: %w", err)
	}
	return cols, nil
}

func (d *DB) createSQL(t *sink.Table, physical string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (", d.ident(physical))
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", quote(c.Name), sqlTypes[c.Type].name)
	}
	for _, s := range sysCols {
		if s.when(t) {
			fmt.Fprintf(&b, ", %s %s", quote(s.name), s.typ)
		}
	}
	if hasKey(t) {
		fmt.Fprintf(&b, ", CONSTRAINT %s PRIMARY KEY (%s)", quote(derived(physical, "_pkey")), quoteList("", t.PrimaryKey))
	}
	b.WriteString(")")
	return b.String()
}

// evolve adds missing columns and refuses changed types and keys.
func (d *DB) evolve(ctx context.Context, tx pgx.Tx, t *sink.Table, physical string, existing map[string]string) error {
	type add struct{ name, typ string }
	var adds []add
	for _, c := range t.Columns {
		st := sqlTypes[c.Type]
		have, ok := existing[c.Name]
		if !ok {
			adds = append(adds, add{c.Name, st.name})
			continue
		}
		if !compatible(have, st) {
			return typeChanged(d.ident(physical), c.Name, have, st.name, c.Type.String())
		}
	}
	for _, s := range sysCols {
		if !s.when(t) {
			continue
		}
		want, _, _ := strings.Cut(s.typ, " ")
		have, ok := existing[s.name]
		if !ok {
			adds = append(adds, add{s.name, s.typ})
		} else if shortType(have) != want {
			return typeChanged(d.ident(physical), s.name, have, want, "")
		}
	}
	for _, a := range adds {
		sql := fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s", d.ident(physical), quote(a.name), a.typ)
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("adding column %q: %w", a.name, err)
		}
	}
	if !hasKey(t) {
		return nil
	}
	have, err := d.primaryKey(ctx, tx, physical)
	if err != nil {
		return err
	}
	if !slices.Equal(have, t.PrimaryKey) {
		fix := fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (%s)", d.ident(physical), quoteList("", t.PrimaryKey))
		if len(have) > 0 {
			fix = fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT <its primary key>, then %s", d.ident(physical), fix)
		}
		return fmt.Errorf("the table's primary key is (%s) but the pipeline declares (%s); change the key with %s, or drop the table to let crmsync recreate it",
			strings.Join(have, ", "), strings.Join(t.PrimaryKey, ", "), fix)
	}
	return nil
}

// compatible accepts the catalog type have for st: the same type, or one
// a user may have created by hand that takes the same binary values.
func compatible(have string, st sqlType) bool {
	switch {
	case have == st.format:
		return true
	case st.format == "text":
		return strings.HasPrefix(have, "character varying")
	case st.format == "numeric":
		return strings.HasPrefix(have, "numeric(")
	}
	return false
}

func typeChanged(ident, column, have, want, field string) error {
	have = shortType(have)
	decl := want
	if field != "" {
		decl = fmt.Sprintf("%s (%s)", field, want)
	}
	return fmt.Errorf("column %q is %s in the database but the pipeline now declares %s; crmsync never casts or drops a column itself: migrate it with ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s, or drop the column (ALTER TABLE %s DROP COLUMN %s) to let crmsync add it again",
		column, have, decl, ident, quote(column), want, quote(column), want, ident, quote(column))
}

func (d *DB) primaryKey(ctx context.Context, tx pgx.Tx, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT a.attname
		FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
		WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary ORDER BY k.ord`, d.schema, table)
	if err != nil {
		return nil, fmt.Errorf("reading the primary key: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("reading the primary key: %w", err)
	}
	return keys, nil
}
