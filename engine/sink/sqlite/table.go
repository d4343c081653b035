package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// System columns added to every table.
const (
	colSyncedAt  = "_synced_at"
	colSyncID    = "_sync_id"
	colRaw       = "_raw"
	colDeletedAt = "_deleted_at"
)

// reservedPrefix begins the names of crmsync's own tables.
const reservedPrefix = "crmsync_"

// reserved reports whether a table name is crmsync's or SQLite's own: a
// state table, or a staging or seen-keys table of a full sync.
func reserved(name string) bool {
	low := strings.ToLower(name)
	switch low {
	case "crmsync_sync_history", "crmsync_state", "crmsync_rejects", "crmsync_locks":
		return true
	}
	return strings.HasPrefix(low, reservedPrefix+"new_") || strings.HasPrefix(low, reservedPrefix+"seen_") || strings.HasPrefix(low, "sqlite_")
}

// table is a destination table compiled into its statements.
type table struct {
	def     *sink.Table
	name    string // physical name: def.Name, or a staging table during replace
	types   []value.Type
	pk      []int // indices into def.Columns
	upsert  bool  // insert-or-update on the key; else plain insert
	nargs   int   // columns + _synced_at + _sync_id (+ _raw)
	insert  *sql.Stmt
	update  *sql.Stmt // nil when there is nothing but the key to compare
	parents *sql.Stmt // deletes the children of one parent (child tables)
	ptypes  []value.Type
}

func (t *table) close() {
	for _, s := range []*sql.Stmt{t.insert, t.update, t.parents} {
		if s != nil {
			s.Close()
		}
	}
}

// Prepare creates the table or evolves it: new fields add columns, a
// removed field leaves its column, a changed type is an error.
func (d *DB) Prepare(ctx context.Context, t *sink.Table) error {
	_, err := d.prepare(ctx, t, t.Name)
	return err
}

func (d *DB) prepare(ctx context.Context, t *sink.Table, name string) (*table, error) {
	if err := check(t); err != nil {
		return nil, err
	}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("prepare table %q: %w", name, err)
	}
	defer tx.Rollback()
	if err := ensureTable(ctx, tx, t, name); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("prepare table %q: %w", name, err)
	}
	return d.compile(ctx, t, name)
}

// tableFor returns the compiled table for a definition, preparing it on
// first use or when the definition changed (a reloaded plan).
func (d *DB) tableFor(ctx context.Context, t *sink.Table, name string) (*table, error) {
	d.mu.Lock()
	ct := d.tables[name]
	d.mu.Unlock()
	if ct != nil && ct.def == t {
		return ct, nil
	}
	return d.prepare(ctx, t, name)
}

func check(t *sink.Table) error {
	if t == nil || t.Name == "" {
		return errors.New("prepare table: no table name")
	}
	if reserved(t.Name) {
		return fmt.Errorf("prepare table %q: the name is reserved for crmsync's own tables", t.Name)
	}
	if len(t.Columns) == 0 {
		return fmt.Errorf("prepare table %q: no columns", t.Name)
	}
	seen := map[string]bool{}
	for _, c := range t.Columns {
		low := strings.ToLower(c.Name)
		switch {
		case c.Name == "":
			return fmt.Errorf("prepare table %q: a column has no name", t.Name)
		case low == colSyncedAt || low == colSyncID || low == colRaw || low == colDeletedAt:
			return fmt.Errorf("prepare table %q: column %q is a crmsync system column", t.Name, c.Name)
		case seen[low]: // SQLite names are case-insensitive
			return fmt.Errorf("prepare table %q: column %q appears twice", t.Name, c.Name)
		}
		seen[low] = true
	}
	for _, k := range t.PrimaryKey {
		if colIndex(t, k) < 0 {
			return fmt.Errorf("prepare table %q: primary key column %q is not a field", t.Name, k)
		}
	}
	for _, k := range t.ParentKey {
		if colIndex(t, k) < 0 {
			return fmt.Errorf("prepare table %q: parent key column %q is not a field", t.Name, k)
		}
	}
	switch t.Write {
	case "", sink.Upsert, sink.Append, sink.Replace:
	default:
		return fmt.Errorf("prepare table %q: write mode %q is not upsert, append or replace", t.Name, t.Write)
	}
	switch t.DeleteMissing {
	case "":
	case sink.DeleteSoft, sink.DeleteHard:
		if len(t.PrimaryKey) == 0 || t.Write == sink.Append || t.Write == sink.Replace {
			return fmt.Errorf("prepare table %q: delete_missing %q needs write: upsert and a primary key", t.Name, t.DeleteMissing)
		}
	default:
		return fmt.Errorf("prepare table %q: delete_missing %q is not soft or hard", t.Name, t.DeleteMissing)
	}
	return nil
}

// primaryKey is the key the table is created with: none for append, whose
// rows are never matched (a declared key there only names records).
func primaryKey(t *sink.Table) []string {
	if t.Write == sink.Append {
		return nil
	}
	return t.PrimaryKey
}

func colIndex(t *sink.Table, name string) int {
	return slices.IndexFunc(t.Columns, func(c sink.Column) bool { return c.Name == name })
}

// columnDef is one column as stored.
type columnDef struct{ name, typ, field string }

// columns lists the stored columns of a table: its fields, then the
// system columns.
func columns(t *sink.Table) []columnDef {
	cols := make([]columnDef, 0, len(t.Columns)+4)
	for _, c := range t.Columns {
		cols = append(cols, columnDef{c.Name, sqlType(c.Type), c.Type.String()})
	}
	cols = append(cols, columnDef{colSyncedAt, sqlDatetime, "datetime"}, columnDef{colSyncID, sqlInteger, "integer"})
	if t.KeepRaw {
		cols = append(cols, columnDef{colRaw, sqlJSON, "json"})
	}
	if t.DeleteMissing == sink.DeleteSoft {
		cols = append(cols, columnDef{colDeletedAt, sqlDatetime, "datetime"})
	}
	return cols
}

// ensureTable creates the table, or adds the columns it lacks and checks
// the types and key of those it has.
func ensureTable(ctx context.Context, tx *sql.Tx, t *sink.Table, name string) error {
	cols := columns(t)
	key := primaryKey(t)
	var ddl strings.Builder
	ddl.WriteString("CREATE TABLE IF NOT EXISTS " + quote(name) + " (")
	for i, c := range cols {
		if i > 0 {
			ddl.WriteString(", ")
		}
		ddl.WriteString(quote(c.name) + " " + c.typ)
		if slices.Contains(key, c.name) {
			ddl.WriteString(" NOT NULL") // SQLite lets NULL into a non-integer key otherwise
		}
	}
	if len(key) > 0 {
		ddl.WriteString(", PRIMARY KEY (" + quoteList(key) + ")")
	}
	ddl.WriteString(")")
	if _, err := tx.ExecContext(ctx, ddl.String()); err != nil {
		return fmt.Errorf("create table %q: %w", name, err)
	}

	rows, err := tx.QueryContext(ctx, "SELECT name, type, pk FROM pragma_table_info(?)", name)
	if err != nil {
		return fmt.Errorf("read columns of table %q: %w", name, err)
	}
	have := map[string]string{}
	type keyCol struct {
		pos  int
		name string
	}
	var keyCols []keyCol
	for rows.Next() {
		var n, typ string
		var pos int
		if err := rows.Scan(&n, &typ, &pos); err != nil {
			rows.Close()
			return fmt.Errorf("read columns of table %q: %w", name, err)
		}
		have[strings.ToLower(n)] = typ
		if pos > 0 {
			keyCols = append(keyCols, keyCol{pos, n})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read columns of table %q: %w", name, err)
	}
	slices.SortFunc(keyCols, func(a, b keyCol) int { return a.pos - b.pos })
	pk := make([]string, len(keyCols))
	for i, k := range keyCols {
		pk[i] = k.name
	}
	if !slices.Equal(pk, key) {
		return fmt.Errorf("table %q has primary key (%s) but the entity declares (%s); to migrate, rename the table (ALTER TABLE %s RENAME TO %s) and run a full sync",
			name, strings.Join(pk, ", "), strings.Join(key, ", "), quote(name), quote(name+"_old"))
	}
	for _, c := range cols {
		typ, ok := have[strings.ToLower(c.name)]
		if !ok {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE "+quote(name)+" ADD COLUMN "+quote(c.name)+" "+c.typ); err != nil {
				return fmt.Errorf("add column %q to table %q: %w", c.name, name, err)
			}
			continue
		}
		if !sameType(typ, c.typ) {
			return fmt.Errorf("table %q: column %q is %s but field %q is now %s (%s); to migrate, rename the old column (ALTER TABLE %s RENAME COLUMN %s TO %s) and run a full sync",
				name, c.name, typ, c.name, c.field, c.typ, quote(name), quote(c.name), quote(c.name+"_old"))
		}
	}
	// What downstream incremental models filter on (WHERE _synced_at > …).
	idx := "CREATE INDEX IF NOT EXISTS " + quote(name+"_crmsync_synced_at") + " ON " + quote(name) + " (" + quote(colSyncedAt) + ")"
	if _, err := tx.ExecContext(ctx, idx); err != nil {
		return fmt.Errorf("index _synced_at of table %q: %w", name, err)
	}
	if len(t.ParentKey) > 0 {
		idx := "CREATE INDEX IF NOT EXISTS " + quote(name+"_crmsync_parent") + " ON " + quote(name) + " (" + quoteList(t.ParentKey) + ")"
		if _, err := tx.ExecContext(ctx, idx); err != nil {
			return fmt.Errorf("index parent key of table %q: %w", name, err)
		}
	}
	return nil
}

// compile prepares a table's statements and caches them by physical name.
func (d *DB) compile(ctx context.Context, t *sink.Table, name string) (*table, error) {
	ct := &table{def: t, name: name, upsert: t.Write != sink.Append && len(t.PrimaryKey) > 0}
	ct.types = make([]value.Type, len(t.Columns))
	for i, c := range t.Columns {
		ct.types[i] = c.Type
	}
	for _, k := range t.PrimaryKey {
		ct.pk = append(ct.pk, colIndex(t, k))
	}
	for _, k := range t.ParentKey {
		ct.ptypes = append(ct.ptypes, t.Columns[colIndex(t, k)].Type)
	}

	// Arguments: ?1…?n the fields, then _synced_at, _sync_id and _raw.
	names := make([]string, 0, len(t.Columns)+3)
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	names = append(names, colSyncedAt, colSyncID)
	if t.KeepRaw {
		names = append(names, colRaw)
	}
	ct.nargs = len(names)
	params := make([]string, len(names))
	for i := range names {
		params[i] = "?" + strconv.Itoa(i+1)
	}
	q := quote(name)
	ins := "INSERT INTO " + q + " (" + quoteList(names) + ") VALUES (" + strings.Join(params, ", ") + ")"
	var upd string
	if ct.upsert {
		// Insert new keys only; an existing key goes to the update, whose
		// WHERE skips rows that would not change, so RowsAffected of the
		// two statements tells created, updated and unchanged apart.
		ins += " ON CONFLICT (" + quoteList(t.PrimaryKey) + ") DO NOTHING"
		var set, differs, where []string
		for i, n := range names {
			if slices.Contains(t.PrimaryKey, n) {
				where = append(where, quote(n)+" = "+params[i])
				continue
			}
			set = append(set, quote(n)+" = "+params[i])
			if n != colSyncedAt && n != colSyncID {
				differs = append(differs, quote(n)+" IS NOT "+params[i])
			}
		}
		if t.DeleteMissing == sink.DeleteSoft {
			set = append(set, quote(colDeletedAt)+" = NULL")
			differs = append(differs, quote(colDeletedAt)+" IS NOT NULL")
		}
		if len(differs) > 0 {
			upd = "UPDATE " + q + " SET " + strings.Join(set, ", ") + " WHERE " + strings.Join(where, " AND ") + " AND (" + strings.Join(differs, " OR ") + ")"
		}
	}
	var err error
	if ct.insert, err = d.w.PrepareContext(ctx, ins); err != nil {
		return nil, fmt.Errorf("prepare insert into %q: %w", name, err)
	}
	if upd != "" {
		if ct.update, err = d.w.PrepareContext(ctx, upd); err != nil {
			ct.close()
			return nil, fmt.Errorf("prepare update of %q: %w", name, err)
		}
	}
	if len(t.ParentKey) > 0 {
		var where []string
		for i, k := range t.ParentKey {
			where = append(where, quote(k)+" = ?"+strconv.Itoa(i+1))
		}
		if ct.parents, err = d.w.PrepareContext(ctx, "DELETE FROM "+q+" WHERE "+strings.Join(where, " AND ")); err != nil {
			ct.close()
			return nil, fmt.Errorf("prepare child delete of %q: %w", name, err)
		}
	}
	d.mu.Lock()
	old := d.tables[name]
	d.tables[name] = ct
	d.mu.Unlock()
	if old != nil {
		old.close()
	}
	return ct, nil
}

// forget drops the compiled statements of a physical table (before DDL).
func (d *DB) forget(name string) {
	d.mu.Lock()
	old := d.tables[name]
	delete(d.tables, name)
	d.mu.Unlock()
	if old != nil {
		old.close()
	}
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	return strings.Join(q, ", ")
}
