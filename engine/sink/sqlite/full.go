package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// fullRun is a full sync in progress on a table. For replace, batches
// load a staging table that FinishFull swaps in. For delete_missing, each
// written key is noted in a seen-keys table, so keys of rows that did not
// change count as seen too.
type fullRun struct {
	syncID  int64
	fence   sink.Fence
	staging string    // replace: the table being loaded
	seen    *sql.Stmt // delete_missing: notes a key
}

func stagingName(t *sink.Table) string { return reservedPrefix + "new_" + t.Name }
func seenName(t *sink.Table) string    { return reservedPrefix + "seen_" + t.Name }

func (d *DB) fullRunOf(name string, syncID int64) *fullRun {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r := d.full[name]; r != nil && r.syncID == syncID {
		return r
	}
	return nil
}

// BeginFull starts a full sync of a replace or delete_missing table; for
// other tables it does nothing. Leftovers of an earlier run that never
// finished are dropped: a full sync always starts from the beginning.
func (d *DB) BeginFull(ctx context.Context, t *sink.Table, syncID int64, f sink.Fence) error {
	if t.Write != sink.Replace && t.DeleteMissing == "" {
		return nil
	}
	if _, err := d.tableFor(ctx, t, t.Name); err != nil {
		return err
	}
	d.endRun(t.Name)
	run := &fullRun{syncID: syncID, fence: f}
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin full sync of table %q: %w", t.Name, err)
	}
	defer tx.Rollback()
	if t.Write == sink.Replace {
		run.staging = stagingName(t)
		d.forget(run.staging)
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(run.staging)); err != nil {
			return fmt.Errorf("begin full sync of table %q: %w", t.Name, err)
		}
		if err := ensureTable(ctx, tx, t, run.staging); err != nil {
			return fmt.Errorf("begin full sync of table %q: %w", t.Name, err)
		}
	}
	if t.DeleteMissing != "" {
		seen := quote(seenName(t))
		var cols []string
		for _, k := range t.PrimaryKey {
			cols = append(cols, quote(k)+" "+sqlType(t.Columns[colIndex(t, k)].Type)+" NOT NULL")
		}
		for _, q := range []string{
			"DROP TABLE IF EXISTS " + seen,
			"CREATE TABLE " + seen + " (" + strings.Join(cols, ", ") + ", PRIMARY KEY (" + quoteList(t.PrimaryKey) + "))",
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("begin full sync of table %q: %w", t.Name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("begin full sync of table %q: %w", t.Name, err)
	}
	if run.staging != "" {
		if _, err := d.compile(ctx, t, run.staging); err != nil {
			return fmt.Errorf("begin full sync of table %q: %w", t.Name, err)
		}
	}
	if t.DeleteMissing != "" {
		params := strings.TrimSuffix(strings.Repeat("?, ", len(t.PrimaryKey)), ", ")
		if run.seen, err = d.w.PrepareContext(ctx, "INSERT INTO "+quote(seenName(t))+" ("+quoteList(t.PrimaryKey)+
			") VALUES ("+params+") ON CONFLICT DO NOTHING"); err != nil {
			return fmt.Errorf("begin full sync of table %q: %w", t.Name, err)
		}
	}
	d.mu.Lock()
	d.full[t.Name] = run
	d.mu.Unlock()
	return nil
}

// FinishFull ends a full sync. With ok, a replace table's staging table
// takes the place of the live one, and delete_missing marks (soft) or
// deletes (hard) the rows whose key was not seen, each in one
// transaction. Without ok, the staging and seen-keys tables are dropped
// and the live table is left as it was.
func (d *DB) FinishFull(ctx context.Context, t *sink.Table, syncID int64, ok bool) (ferr error) {
	d.mu.Lock()
	run := d.full[t.Name]
	d.mu.Unlock()
	if run == nil {
		return nil
	}
	if run.syncID != syncID {
		return fmt.Errorf("finish full sync %d of table %q: the running full sync is %d", syncID, t.Name, run.syncID)
	}
	d.endRun(t.Name)
	d.forget(t.Name) // the table changes under its statements
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish full sync of table %q: %w", t.Name, err)
	}
	defer tx.Rollback()
	if ok {
		if err := checkFence(ctx, tx, run.fence); err != nil {
			ok = false // drop the work tables, delete nothing
			defer func() {
				if ferr == nil {
					ferr = fmt.Errorf("finish full sync of table %q: no rows were removed: %w", t.Name, err)
				}
			}()
		}
	}
	var stmts []string
	live := quote(t.Name)
	if run.staging != "" {
		staging := quote(run.staging)
		if ok {
			stmts = append(stmts, "DROP TABLE IF EXISTS "+live, "ALTER TABLE "+staging+" RENAME TO "+live,
				"DROP INDEX IF EXISTS "+quote(run.staging+"_crmsync_parent"), "DROP INDEX IF EXISTS "+quote(run.staging+"_crmsync_synced_at"))
		} else {
			stmts = append(stmts, "DROP TABLE IF EXISTS "+staging)
		}
	}
	if run.seen != nil {
		seen := quote(seenName(t))
		if ok {
			var match []string
			for _, k := range t.PrimaryKey {
				match = append(match, "s."+quote(k)+" = "+live+"."+quote(k))
			}
			missing := "NOT EXISTS (SELECT 1 FROM " + seen + " s WHERE " + strings.Join(match, " AND ") + ")"
			if t.DeleteMissing == sink.DeleteSoft {
				stmts = append(stmts, "UPDATE "+live+" SET "+quote(colDeletedAt)+" = '"+formatTime(time.Now())+
					"' WHERE "+quote(colDeletedAt)+" IS NULL AND "+missing)
			} else {
				stmts = append(stmts, "DELETE FROM "+live+" WHERE "+missing)
			}
		}
		stmts = append(stmts, "DROP TABLE IF EXISTS "+seen)
	}
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("finish full sync of table %q: %w", t.Name, err)
		}
	}
	if ok && run.staging != "" {
		if err := ensureTable(ctx, tx, t, t.Name); err != nil { // recreates the parent index under its name
			return fmt.Errorf("finish full sync of table %q: %w", t.Name, err)
		}
	}
	if ok && (run.staging != "" || t.DeleteMissing == sink.DeleteHard) {
		// Children of the rows that are gone go with them.
		for _, c := range t.Children {
			var match []string
			for i, k := range c.ParentKey {
				if i < len(t.PrimaryKey) {
					match = append(match, "p."+quote(t.PrimaryKey[i])+" = "+quote(c.Name)+"."+quote(k))
				}
			}
			q := "DELETE FROM " + quote(c.Name) + " WHERE NOT EXISTS (SELECT 1 FROM " + live + " p WHERE " + strings.Join(match, " AND ") + ")"
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("finish full sync of table %q: deleting the children of removed rows from %q: %w", t.Name, c.Name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish full sync of table %q: %w", t.Name, err)
	}
	return nil
}

// endRun forgets a table's full sync and closes its statements.
func (d *DB) endRun(name string) {
	d.mu.Lock()
	run := d.full[name]
	delete(d.full, name)
	d.mu.Unlock()
	if run == nil {
		return
	}
	if run.seen != nil {
		run.seen.Close()
	}
	if run.staging != "" {
		d.forget(run.staging)
	}
}
