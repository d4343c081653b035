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
