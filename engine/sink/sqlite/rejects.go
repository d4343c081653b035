package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/crmsync/crmsync/engine/sink"
)

// replaceRejects deletes the earlier syncs' rejects of the records this
// batch rejects (see sink.RejectPruner): a record keeps one reject, its
// latest, however often it is read.
func replaceRejects(ctx context.Context, tx *sql.Tx, b *sink.Batch) error {
	byID, err := tx.PrepareContext(ctx, `DELETE FROM crmsync_rejects WHERE pipeline = ? AND entity = ? AND record_id = ? AND sync_id IS NOT ?`)
	if err != nil {
		return fmt.Errorf("replacing earlier rejects: %w", err)
	}
	defer byID.Close()
	byRaw, err := tx.PrepareContext(ctx, `DELETE FROM crmsync_rejects WHERE pipeline = ? AND entity = ? AND coalesce(record_id, '') = '' AND raw = ? AND sync_id IS NOT ?`)
	if err != nil {
		return fmt.Errorf("replacing earlier rejects: %w", err)
	}
	defer byRaw.Close()
	for _, r := range b.Rejects {
		switch {
		case r.RecordID != "":
			_, err = byID.ExecContext(ctx, b.Pipeline, b.Entity, r.RecordID, b.SyncID)
		case r.Raw != "":
			_, err = byRaw.ExecContext(ctx, b.Pipeline, b.Entity, r.Raw, b.SyncID)
		}
		if err != nil {
			return fmt.Errorf("replacing earlier rejects of record %q: %w", r.RecordID, err)
		}
	}
	return nil
}

// PruneRejects removes the entity's rejects of syncs before syncID.
func (d *DB) PruneRejects(ctx context.Context, pipeline, entity string, syncID int64) error {
	if _, err := d.w.ExecContext(ctx, `DELETE FROM crmsync_rejects WHERE pipeline = ? AND entity = ? AND sync_id IS NOT ?`, pipeline, entity, syncID); err != nil {
		return fmt.Errorf("removing earlier rejects of %s/%s: %w", pipeline, entity, err)
	}
	return nil
}
