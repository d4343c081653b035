package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

// insertRejects stores the batch's rejects. Their text is made storable
// (no NUL bytes, valid UTF-8) so a bad record can never fail the batch.
func (d *DB) insertRejects(ctx context.Context, conn *pgx.Conn, b *sink.Batch) error {
	if len(b.Rejects) == 0 {
		return nil
	}
	if err := d.replaceRejects(ctx, conn, b); err != nil {
		return err
	}
	rows := make([][]any, len(b.Rejects))
	for i, r := range b.Rejects {
		reasons := make([]string, len(r.Reasons))
		for j, s := range r.Reasons {
			reasons[j] = storable(s)
		}
		js, err := json.Marshal(reasons)
		if err != nil {
			return fmt.Errorf("storing rejects: %w", err)
		}
		var raw any
		if r.Raw != "" {
			raw = storable(r.Raw)
		}
		rows[i] = []any{b.Pipeline, b.Entity, storable(r.RecordID), json.RawMessage(js), raw, b.SyncID}
	}
	_, err := conn.CopyFrom(ctx, pgx.Identifier{d.schema, tableRejects},
		[]string{"pipeline", "entity", "record_id", "reasons", "raw", "sync_id"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("storing rejects: %w", err)
	}
	return nil
}

func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", `\u0000`)
}

// replaceRejects deletes the earlier syncs' rejects of the records this
// batch rejects (see sink.RejectPruner): a record keeps one reject, its
// latest, however often it is read.
func (d *DB) replaceRejects(ctx context.Context, conn *pgx.Conn, b *sink.Batch) error {
	var ids, raws []string
	for _, r := range b.Rejects {
		if r.RecordID != "" {
			ids = append(ids, storable(r.RecordID))
		} else if r.Raw != "" {
			raws = append(raws, storable(r.Raw))
		}
	}
	_, err := conn.Exec(ctx, "DELETE FROM "+d.ident(tableRejects)+` WHERE pipeline = $1 AND entity = $2 AND sync_id IS DISTINCT FROM $3
		AND (record_id = ANY($4) OR (record_id = '' AND raw = ANY($5)))`, b.Pipeline, b.Entity, b.SyncID, ids, raws)
	if err != nil {
		return fmt.Errorf("replacing earlier rejects: %w", err)
	}
	return nil
}

// PruneRejects removes the entity's rejects of syncs before syncID.
func (d *DB) PruneRejects(ctx context.Context, pipeline, entity string, syncID int64) error {
	_, err := d.pool.Exec(ctx, "DELETE FROM "+d.ident(tableRejects)+" WHERE pipeline = $1 AND entity = $2 AND sync_id IS DISTINCT FROM $3",
		pipeline, entity, syncID)
	if err != nil {
		return fmt.Errorf("removing earlier rejects of %s/%s: %w", pipeline, entity, err)
	}
	return nil
}
