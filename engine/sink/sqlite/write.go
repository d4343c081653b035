package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// Write commits a batch in one transaction: its rows, the children of its
// parents, its rejects and the entity's checkpoint. When any part fails
// nothing of the batch is kept.
func (d *DB) Write(ctx context.Context, b *sink.Batch) (sink.Result, error) {
	var res sink.Result
	var t *table
	var run *fullRun
	if b.Table != nil {
		name := b.Table.Name
		if run = d.fullRunOf(b.Table.Name, b.SyncID); run != nil && run.staging != "" {
			name = run.staging
		}
		var err error
		if t, err = d.tableFor(ctx, b.Table, name); err != nil {
			return res, fmt.Errorf("write %q: %w", b.Entity, err)
		}
	} else if len(b.Rows) > 0 {
		return res, fmt.Errorf("write %q: rows without a table", b.Entity)
	}
	children := make([]*table, len(b.Children))
	for i, c := range b.Children {
		var err error
		if children[i], err = d.tableFor(ctx, c.Table, c.Table.Name); err != nil {
			return res, fmt.Errorf("write %q: child %w", b.Entity, err)
		}
	}

	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("write %q: begin: %w", b.Entity, busyHint(err))
	}
	defer tx.Rollback()
	// Statements run without the caller's context: a cancellable one costs
	// a watcher goroutine per statement. The loops check ctx instead.
	ectx := context.WithoutCancel(ctx)
	if err := checkFence(ectx, tx, sink.Fence{Pipeline: b.Pipeline, Entity: b.StateKey(), Epoch: b.Epoch}); err != nil {
		return res, fmt.Errorf("write %q: %w", b.Entity, err)
	}
	now := time.Now()
	w := writer{tx: tx, ctx: ctx, ectx: ectx, synced: formatTime(now), syncID: b.SyncID}

	if t != nil && len(b.Rows) > 0 {
		var seen *sql.Stmt
		if run != nil && run.seen != nil {
			seen = tx.StmtContext(ectx, run.seen)
		}
		if res, err = w.rows(t, b.Rows, true, seen); err != nil {
			return sink.Result{}, fmt.Errorf("write %q to table %q: %w", b.Entity, t.def.Name, err)
		}
	}
	for i, c := range b.Children {
		if err := w.children(children[i], &c); err != nil {
			return sink.Result{}, fmt.Errorf("write %q to child table %q: %w", b.Entity, c.Table.Name, err)
		}
	}
	if len(b.Rejects) > 0 {
		if err := replaceRejects(ectx, tx, b); err != nil {
			return sink.Result{}, fmt.Errorf("write %q: %w", b.Entity, err)
		}
		st := tx.StmtContext(ectx, d.st.reject)
		for _, r := range b.Rejects {
			reasons, _ := json.Marshal(r.Reasons)
			if _, err := st.Exec(b.Pipeline, b.Entity, r.RecordID, string(reasons), nullIfEmpty(r.Raw), b.SyncID, w.synced); err != nil {
				return sink.Result{}, fmt.Errorf("write %q: reject of record %q: %w", b.Entity, r.RecordID, err)
			}
		}
	}
	if cp := b.Checkpoint; cp != nil {
		at := cp.UpdatedAt
		if at.IsZero() {
			at = now
		}
		if _, err := tx.StmtContext(ectx, d.st.checkpoint).Exec(b.Pipeline, b.StateKey(), cp.Watermark, cp.Resume, cp.Version, formatTime(at)); err != nil {
			return sink.Result{}, fmt.Errorf("write %q: checkpoint: %w", b.Entity, err)
		}
	}
	if g := b.Progress; g != nil && b.SyncID != 0 {
		// The history row counts what commits, even if the sync is killed later.
		if _, err := tx.ExecContext(ectx, `UPDATE crmsync_sync_history SET processed = ?, filtered = ?, rejected = ?, failed = ?,
			created = created + ?, updated = updated + ?, unchanged = unchanged + ?, duplicates = ? WHERE id = ? AND status = 'running'`,
			g.Processed, g.Filtered, g.Rejected, g.Failed, res.Created, res.Updated, res.Unchanged, g.Duplicates, b.SyncID); err != nil {
			return sink.Result{}, fmt.Errorf("write %q: sync progress: %w", b.Entity, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return sink.Result{}, fmt.Errorf("write %q: %w", b.Entity, err)
	}
	if err := tx.Commit(); err != nil {
		return sink.Result{}, fmt.Errorf("write %q: commit: %w", b.Entity, busyHint(err))
	}
	return res, nil
}

// writer is one batch's transaction.
type writer struct {
	tx        *sql.Tx
	ctx, ectx context.Context
	synced    string
	syncID    int64
	key       []byte
}

// rows writes rows into t. With dedupe, a key repeated within the batch is
// written once, from its last row, so it counts once.
func (w *writer) rows(t *table, rows []sink.Row, dedupe bool, seen *sql.Stmt) (sink.Result, error) {
	var res sink.Result
	var last map[string]int
	var keys []string
	if dedupe && t.upsert && len(rows) > 1 {
		last = make(map[string]int, len(rows))
		keys = make([]string, len(rows))
		for i := range rows {
			k, err := w.keyOf(t, &rows[i])
			if err != nil {
				return res, fmt.Errorf("row %d: %w", i+1, err)
			}
			keys[i] = k
			last[k] = i
		}
	}
	ins := w.tx.StmtContext(w.ectx, t.insert)
	var upd *sql.Stmt
	if t.update != nil {
		upd = w.tx.StmtContext(w.ectx, t.update)
	}
	args := make([]any, t.nargs)
	var synced, syncID any = w.synced, w.syncID // boxed once
	var pkArgs []any
	if seen != nil {
		pkArgs = make([]any, len(t.pk))
	}
	n := len(t.types)
	for i := range rows {
		if last != nil && last[keys[i]] != i {
			continue
		}
		if i&255 == 0 {
			if err := w.ctx.Err(); err != nil {
				return res, err
			}
		}
		row := &rows[i]
		if len(row.Values) != n {
			return res, fmt.Errorf("row %d: %d values for %d columns", i+1, len(row.Values), n)
		}
		for j, v := range row.Values {
			bv, err := bindValue(t.types[j], v)
			if err != nil {
				return res, fmt.Errorf("row %d%s: column %q: %w", i+1, keyText(t, row.Values), t.def.Columns[j].Name, err)
			}
			args[j] = bv
		}
		args[n], args[n+1] = synced, syncID
		if t.def.KeepRaw {
			args[n+2] = nullIfEmpty(row.Raw)
		}
		r, err := ins.Exec(args...)
		if err != nil {
			return res, fmt.Errorf("row %d%s: %w", i+1, keyText(t, row.Values), err)
		}
		if seen != nil {
			for j, k := range t.pk {
				pkArgs[j] = args[k]
			}
			if _, err := seen.Exec(pkArgs...); err != nil {
				return res, fmt.Errorf("row %d%s: noting key: %w", i+1, keyText(t, row.Values), err)
			}
		}
		if affected, _ := r.RowsAffected(); affected == 1 || !t.upsert {
			res.Created++
			continue
		}
		if upd == nil {
			res.Unchanged++
			continue
		}
		r, err = upd.Exec(args...)
		if err != nil {
			return res, fmt.Errorf("row %d%s: %w", i+1, keyText(t, row.Values), err)
		}
		if affected, _ := r.RowsAffected(); affected == 1 {
			res.Updated++
		} else {
			res.Unchanged++
		}
	}
	return res, nil
}

// children replaces the children of the listed parents.
func (w *writer) children(t *table, c *sink.ChildRows) error {
	if len(c.Parents) > 0 {
		if t.parents == nil {
			return fmt.Errorf("parents listed but the table has no parent key")
		}
		del := w.tx.StmtContext(w.ectx, t.parents)
		args := make([]any, len(t.ptypes))
		for _, p := range c.Parents {
			if len(p) != len(args) {
				return fmt.Errorf("parent key has %d values, want %d", len(p), len(args))
			}
			for i, v := range p {
				var err error
				if args[i], err = bindValue(t.ptypes[i], v); err != nil {
					return fmt.Errorf("parent key %q: %w", t.def.ParentKey[i], err)
				}
			}
			if _, err := del.Exec(args...); err != nil {
				return fmt.Errorf("deleting children of %v: %w", p, err)
			}
		}
	}
	_, err := w.rows(t, c.Rows, false, nil)
	return err
}

// keyOf encodes a row's primary key, type-tagged, as a map key.
func (w *writer) keyOf(t *table, row *sink.Row) (string, error) {
	b := w.key[:0]
	for _, j := range t.pk {
		if j >= len(row.Values) {
			return "", fmt.Errorf("%d values for %d columns", len(row.Values), len(t.types))
		}
		v, err := bindValue(t.types[j], row.Values[j])
		if err != nil {
			return "", fmt.Errorf("column %q: %w", t.def.Columns[j].Name, err)
		}
		b = value.AppendKey(b, v)
	}
	w.key = b
	return string(b), nil
}

// keyText names a row by its key for errors.
func keyText(t *table, values []any) string {
	if len(t.pk) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString(" (")
	for i, j := range t.pk {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(t.def.Columns[j].Name + "=")
		if j >= len(values) || values[j] == nil {
			sb.WriteString("null")
			continue
		}
		fmt.Fprintf(&sb, "%q", fmt.Sprint(values[j]))
	}
	sb.WriteString(")")
	return sb.String()
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// busyHint says what a "database is locked" error means: another
// connection held the file's write lock for longer than busy_timeout.
func busyHint(err error) error {
	if err == nil || !(strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")) {
		return err
	}
	return fmt.Errorf("%w (another program held the database file's write lock for longer than busy_timeout, 10 s by default: "+
		"a transaction left open in a SQL client, or another writer; close it, or allow longer with ?_pragma=busy_timeout(60000) in the DSN)", err)
}
