package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crmsync/crmsync/engine/sink"
)

// fullRun is a full refresh in progress for one table.
type fullRun struct {
	syncID  int64
	table   *sink.Table
	newName string // replace: the table batches go to until the swap
	seen    string // delete_missing: unlogged table of the keys this sync saw
	seenSQL string
	fence   sink.Fence // what the swap or delete checks it still holds
}

// target is the plan a batch for t goes to: the table itself, or the new
// table of a replace in progress. A table Write has not seen prepared is
// prepared now.
func (d *DB) target(ctx context.Context, t *sink.Table) (*plan, *fullRun, error) {
	p, fr, physical := d.cached(t)
	if p != nil {
		return p, fr, nil
	}
	if physical != t.Name {
		return nil, nil, errors.New("the table definition changed during a full refresh")
	}
	if err := d.Prepare(ctx, t); err != nil {
		return nil, nil, err
	}
	d.mu.Lock()
	p = d.plans[physical]
	d.mu.Unlock()
	return p, fr, nil
}

// cached is target without preparing: t's plan when one is ready (else
// nil), its full refresh, and the physical table name.
func (d *DB) cached(t *sink.Table) (*plan, *fullRun, string) {
	d.mu.Lock()
	fr := d.full[t.Name]
	physical := t.Name
	if fr != nil && fr.newName != "" {
		physical = fr.newName
	}
	p := d.plans[physical]
	d.mu.Unlock()
	if p != nil && (p.table == t || p.sig == signature(t)) {
		return p, fr, physical
	}
	return nil, fr, physical
}

// BeginFull starts a full refresh of t. With write: replace, batches go to
// a new table until FinishFull swaps it in. With delete_missing, the keys
// every batch sees are recorded so FinishFull can tell which rows are gone.
func (d *DB) BeginFull(ctx context.Context, t *sink.Table, syncID int64, f sink.Fence) error {
	if err := check(t); err != nil {
		return fmt.Errorf("beginning a full refresh: %w", err)
	}
	where := fmt.Sprintf("beginning a full refresh of table %q", t.Name)
	if err := d.Prepare(ctx, t); err != nil {
		return err
	}
	// Leftovers of earlier runs that never finished. Each sync has a
	// seen-keys table of its own, so a second run can never drop or
	// refill the table of another that still reads.
	d.dropFull(ctx, t.Name, 0)
	d.dropStaleWork(ctx, t.Name, syncID)
	fr := &fullRun{syncID: syncID, table: t, fence: f}
	if writeMode(t) == sink.Replace {
		fr.newName = newTable(t.Name, syncID)
		if _, err := d.pool.Exec(ctx, "DROP TABLE IF EXISTS "+d.ident(fr.newName)); err != nil {
			return fmt.Errorf("%s: dropping an old new table: %w", where, err)
		}
		p, err := d.ensureTable(ctx, t, fr.newName)
		if err != nil {
			return fmt.Errorf("%s: creating the new table: %w", where, err)
		}
		d.mu.Lock()
		d.plans[fr.newName] = p
		d.mu.Unlock()
	}
	if t.DeleteMissing != "" {
		d.mu.Lock()
		p := d.plans[t.Name]
		d.mu.Unlock()
		fr.seen = seenTable(t.Name, syncID)
		var cols, args []string
		for i, k := range p.pk {
			c := p.cols[k]
			cols = append(cols, fmt.Sprintf("k%d %s", i, c.st.name))
			args = append(args, fmt.Sprintf("$%d::%s[]", i+1, c.st.name))
		}
		seen := d.ident(fr.seen)
		// Unlogged: cheap to fill. A server crash empties it, so a marker
		// row (all keys NULL, which no real key is) proves it is complete.
		sql := fmt.Sprintf("DROP TABLE IF EXISTS %[1]s; CREATE UNLOGGED TABLE %[1]s (%[2]s); INSERT INTO %[1]s DEFAULT VALUES",
			seen, strings.Join(cols, ", "))
		if err := d.simple(ctx, sql); err != nil {
			return fmt.Errorf("%s: creating the table of seen keys: %w", where, err)
		}
		fr.seenSQL = fmt.Sprintf("INSERT INTO %s SELECT * FROM unnest(%s)", seen, strings.Join(args, ", "))
	}
	d.mu.Lock()
	d.full[t.Name] = fr
	d.mu.Unlock()
	return nil
}

// FinishFull ends a full refresh. With ok, a replace's new table takes
// the old one's place in one transaction (readers see the old table or
// the new one, never a part), and delete_missing marks or deletes the
// rows this sync did not see. Without ok, the old table stays as it was.
func (d *DB) FinishFull(ctx context.Context, t *sink.Table, syncID int64, ok bool) error {
	d.mu.Lock()
	fr := d.full[t.Name]
	delete(d.full, t.Name)
	d.mu.Unlock()
	where := fmt.Sprintf("finishing the full refresh of table %q", t.Name)
	if fr == nil {
		if ok {
			return fmt.Errorf("%s: no full refresh was begun", where)
		}
		return nil
	}
	if fr.syncID != syncID {
		d.dropFull(ctx, t.Name, fr.syncID)
		return fmt.Errorf("%s: begun by sync %d, finished by sync %d", where, fr.syncID, syncID)
	}
	if !ok {
		if err := d.dropFull(ctx, t.Name, syncID); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		return nil
	}
	var err error
	switch {
	case fr.newName != "":
		err = d.swap(ctx, t, fr)
	case fr.seen != "":
		err = d.deleteMissing(ctx, t, fr)
	}
	if err != nil {
		d.dropFull(ctx, t.Name, syncID)
		return fmt.Errorf("%s: %w", where, err)
	}
	if fr.newName != "" || t.DeleteMissing == sink.DeleteHard {
		if err := d.deleteOrphans(ctx, t); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	return nil
}

// deleteOrphans removes the child rows whose parent is gone.
func (d *DB) deleteOrphans(ctx context.Context, t *sink.Table) error {
	for _, c := range t.Children {
		var match []string
		for i, k := range c.ParentKey {
			if i < len(t.PrimaryKey) {
				match = append(match, fmt.Sprintf("p.%s = c.%s", quote(t.PrimaryKey[i]), quote(k)))
			}
		}
		sql := fmt.Sprintf("DELETE FROM %s c WHERE NOT EXISTS (SELECT 1 FROM %s p WHERE %s)", d.ident(c.Name), d.ident(t.Name), strings.Join(match, " AND "))
		if _, err := d.pool.Exec(ctx, sql); err != nil {
			return fmt.Errorf("deleting the children of removed rows from %q: %w", c.Name, err)
		}
	}
	return nil
}

// seenTable names the seen-keys work table of one sync of table.
func seenTable(table string, syncID int64) string {
	return derived(table, fmt.Sprintf("__s%d__crmsync_seen", syncID))
}

// newTable names the table one replace sync of table loads until the swap.
func newTable(table string, syncID int64) string {
	return derived(table, fmt.Sprintf("__s%d__crmsync_new", syncID))
}

// dropFull removes the work tables of an unfinished full refresh: the
// replace's new table and the seen keys of syncID (0: the one shared
// table of older versions).
func (d *DB) dropFull(ctx context.Context, table string, syncID int64) error {
	newName, seen := derived(table, "__crmsync_new"), derived(table, "__crmsync_seen")
	if syncID != 0 {
		newName, seen = newTable(table, syncID), seenTable(table, syncID)
	}
	d.mu.Lock()
	delete(d.plans, newName)
	delete(d.pending, newName)
	d.mu.Unlock()
	if err := d.simple(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s, %s", d.ident(newName), d.ident(seen))); err != nil {
		return fmt.Errorf("dropping the work tables: %w", err)
	}
	return nil
}

// dropStaleWork drops the work tables (seen keys, replace's new table)
// that syncs of table other than keep left behind (killed runs). A run
// that lost its claim and still reads loses its tables with them, so its
// delete_missing or swap fails instead of removing rows: failing is the
// safe side (and its fence stops it anyway).
func (d *DB) dropStaleWork(ctx context.Context, table string, keep int64) {
	rows, err := d.pool.Query(ctx, `SELECT tablename, (regexp_match(tablename, '__s([0-9]{1,18})__crmsync_(?:seen|new)$'))[1]::bigint
		FROM pg_tables WHERE schemaname = $1 AND tablename ~ '__s[0-9]{1,18}__crmsync_(seen|new)$'`, d.schema)
	if err != nil {
		return
	}
	type work struct {
		name string
		id   int64
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (work, error) {
		var w work
		err := r.Scan(&w.name, &w.id)
		return w, err
	})
	if err != nil {
		return
	}
	for _, w := range list {
		// A long table name is shortened with a hash, so a work table is
		// known as table's by its exact derived name, not by a prefix.
		if w.id == keep || (w.name != seenTable(table, w.id) && w.name != newTable(table, w.id)) {
			continue
		}
		d.simple(ctx, "DROP TABLE IF EXISTS "+d.ident(w.name))
	}
}

func (d *DB) swap(ctx context.Context, t *sink.Table, fr *fullRun) error {
	target, fresh := d.ident(t.Name), d.ident(fr.newName)
	// The new table was loaded without its _synced_at index: it is built
	// before the table is swapped in, so readers never see it without.
	d.mu.Lock()
	pending := d.pending[fr.newName] != nil
	d.mu.Unlock()
	if pending {
		if err := d.buildIndex(ctx, fr.newName); err != nil {
			return err
		}
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		sql := []string{
			"DROP TABLE IF EXISTS " + target,
			fmt.Sprintf("ALTER TABLE %s RENAME TO %s", fresh, quote(t.Name)),
		}
		if hasKey(t) {
			sql = append(sql, fmt.Sprintf("ALTER TABLE %s RENAME CONSTRAINT %s TO %s",
				target, quote(derived(fr.newName, "_pkey")), quote(derived(t.Name, "_pkey"))))
		}
		sql = append(sql, fmt.Sprintf("ALTER INDEX IF EXISTS %s RENAME TO %s",
			d.ident(derived(fr.newName, "_synced_at_idx")), quote(derived(t.Name, "_synced_at_idx"))))
		if len(t.ParentKey) > 0 {
			sql = append(sql, fmt.Sprintf("ALTER INDEX %s RENAME TO %s",
				d.ident(derived(fr.newName, "_parent_idx")), quote(derived(t.Name, "_parent_idx"))))
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", hash64("crmsync table", d.schema, t.Name))); err != nil {
			return err
		}
		if err := d.checkFence(ctx, tx, fr.fence); err != nil {
			return err
		}
		for _, s := range sql {
			if _, err := tx.Exec(ctx, s); err != nil {
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "2BP01" { // dependent_objects_still_exist
					return fmt.Errorf("swapping in the new table: %w (views or foreign keys depend on the table; write: replace cannot swap it — drop them or use write: upsert with delete_missing)", err)
				}
				return fmt.Errorf("swapping in the new table: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.plans, fr.newName)
	delete(d.plans, t.Name)
	delete(d.pending, fr.newName)
	d.mu.Unlock()
	return d.Prepare(ctx, t)
}

func (d *DB) deleteMissing(ctx context.Context, t *sink.Table, fr *fullRun) error {
	d.mu.Lock()
	p := d.plans[t.Name]
	d.mu.Unlock()
	seen := d.ident(fr.seen)
	var match, marker []string
	for i, k := range p.pk {
		match = append(match, fmt.Sprintf("s.k%d = t.%s", i, quote(p.cols[k].name)))
		marker = append(marker, fmt.Sprintf("k%d IS NULL", i))
	}
	missing := fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %s s WHERE %s)", seen, strings.Join(match, " AND "))
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", p.lockKey); err != nil {
			return err
		}
		if err := d.checkFence(ctx, tx, fr.fence); err != nil {
			return fmt.Errorf("no rows were deleted: %w", err)
		}
		var complete bool
		if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT EXISTS (SELECT 1 FROM %s WHERE %s)", seen, strings.Join(marker, " AND "))).Scan(&complete); err != nil {
			return fmt.Errorf("reading the seen keys: %w", err)
		}
		if !complete {
			return errors.New("the table of seen keys was emptied (did the database restart?); no rows were deleted — run the full sync again")
		}
		var sql string
		if t.DeleteMissing == sink.DeleteHard {
			sql = fmt.Sprintf("DELETE FROM %s t WHERE %s", p.ident, missing)
		} else {
			sql = fmt.Sprintf("UPDATE %s t SET %s = now() WHERE %s IS NULL AND %s", p.ident, quote(colDeletedAt), quote(colDeletedAt), missing)
		}
		if _, err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("deleting missing rows: %w", err)
		}
		if _, err := tx.Exec(ctx, "DROP TABLE "+seen); err != nil {
			return fmt.Errorf("dropping the seen keys: %w", err)
		}
		return nil
	})
}

// simple runs statements without parameters (several may be joined by ";").
func (d *DB) simple(ctx context.Context, sql string) error {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return d.connErr("acquiring a connection", err)
	}
	defer c.Release()
	_, err = c.Conn().PgConn().Exec(ctx, sql).ReadAll()
	return err
}
