package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The _synced_at index of an empty table is built after its first load
// instead of row by row during it: maintained by every batch it cost a
// quarter of the server's CPU of a fresh load (200,000 rows in batches of
// 5,000: 2.2 s with it, 1.5-1.8 s without), building it afterwards
// 0.2 s.
//
// A table that is empty when prepared gets its index when the sync that
// first writes rows to it finishes (FinishSync), before the history says
// the sync ended. A sync killed before that (or rows written by a batch
// without a sync) leaves rows without the index; the next Prepare sees
// rows and builds it, as it does for a table an older version made
// without one. A replace's new table gets it before it is swapped in.

// pendingIndex is the deferred index of one physical table, and the sync
// that first wrote it (0: none yet).
type pendingIndex struct {
	sql  string
	sync int64
}

// syncedAtIndexSQL creates the index downstream incremental models use
// (WHERE _synced_at > …).
func (d *DB) syncedAtIndexSQL(physical string) string {
	return fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)",
		quote(derived(physical, "_synced_at_idx")), d.ident(physical), quote(colSyncedAt))
}

// deferIndex records that physical's index waits for its first load, or,
// with later false, that the index exists. A sync that already wrote the
// table keeps its mark when the table is prepared again while empty.
func (d *DB) deferIndex(physical string, later bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !later {
		delete(d.pending, physical)
		return
	}
	if d.pending[physical] == nil {
		d.pending[physical] = &pendingIndex{sql: d.syncedAtIndexSQL(physical)}
	}
}

// wrote marks the deferred indexes of the tables a committed batch of
// syncID wrote rows to as that sync's to build. A batch without a sync
// (no FinishSync follows) leaves them to the table's next Prepare.
func (d *DB) wrote(syncID int64, physical ...string) {
	if syncID == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ph := range physical {
		if pi := d.pending[ph]; pi != nil && pi.sync == 0 {
			pi.sync = syncID
		}
	}
}

// buildIndexes builds the deferred indexes of the tables syncID wrote.
func (d *DB) buildIndexes(ctx context.Context, syncID int64) error {
	d.mu.Lock()
	var tables []string
	for ph, pi := range d.pending {
		if pi.sync == syncID {
			tables = append(tables, ph)
		}
	}
	d.mu.Unlock()
	var errs []error
	for _, ph := range tables {
		errs = append(errs, d.buildIndex(ctx, ph))
	}
	return errors.Join(errs...)
}

// buildIndex creates physical's index under the lock that keeps Prepares
// of the table apart (two processes may both have deferred it).
func (d *DB) buildIndex(ctx context.Context, physical string) error {
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", hash64("crmsync table", d.schema, physical)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, d.syncedAtIndexSQL(physical))
		return err
	})
	if err != nil {
		return fmt.Errorf("creating the _synced_at index of table %q: %w", physical, err)
	}
	d.deferIndex(physical, false)
	return nil
}
