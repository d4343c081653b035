package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

var _ sink.Partitioned = (*DB)(nil)

// LockPartition claims one partition of a partitioned backfill: its own
// advisory lock and fenced claim (pipeline, entity#partition), with the
// entity's advisory lock held shared, so partitions run together while
// an ordinary sync of the entity (which takes that lock alone) cannot.
func (d *DB) LockPartition(ctx context.Context, pipeline, entity, partition string, lost func(error)) (sink.Claim, error) {
	return d.lockWatched(ctx, pipeline, entity, partition, lost)
}

// FinishPartitions merges the partitions' checkpoints into the entity's
// in one transaction, under a transaction lock of the entity's
// partitions (two partitions finishing at once: the second sees the
// first's commit) and fenced by the calling partition's claim.
func (d *DB) FinishPartitions(ctx context.Context, pipeline, entity string, keys []string, f sink.Fence, merge func(map[string]sink.Checkpoint) (sink.Checkpoint, bool)) (bool, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return false, d.connErr("finishing partitions", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", hash64("crmsync partitions", d.schema, pipeline, entity)); err != nil {
		return false, fmt.Errorf("finishing the partitions of %s %s: %w", pipeline, entity, err)
	}
	if err := d.checkFence(ctx, tx, f); err != nil {
		return false, err
	}
	rows, err := tx.Query(ctx, "SELECT entity, watermark, resume FROM "+d.ident(tableState)+" WHERE pipeline = $1 AND entity = ANY($2)", pipeline, keys)
	if err != nil {
		return false, fmt.Errorf("finishing the partitions of %s %s: %w", pipeline, entity, err)
	}
	got := map[string]sink.Checkpoint{}
	var k string
	var c sink.Checkpoint
	if _, err := pgx.ForEachRow(rows, []any{&k, &c.Watermark, &c.Resume}, func() error { got[k] = c; return nil }); err != nil {
		return false, fmt.Errorf("finishing the partitions of %s %s: %w", pipeline, entity, err)
	}
	cp, ok := merge(got)
	if !ok {
		return false, nil
	}
	if _, err := tx.Exec(ctx, "INSERT INTO "+d.ident(tableState)+` (pipeline, entity, watermark, resume, updated_at) VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (pipeline, entity) DO UPDATE SET watermark = excluded.watermark, resume = excluded.resume, updated_at = excluded.updated_at`,
		pipeline, entity, cp.Watermark, cp.Resume); err != nil {
		return false, fmt.Errorf("storing the checkpoint of %s %s: %w", pipeline, entity, err)
	}
	if _, err := tx.Exec(ctx, "DELETE FROM "+d.ident(tableState)+" WHERE pipeline = $1 AND entity = ANY($2)", pipeline, keys); err != nil {
		return false, fmt.Errorf("finishing the partitions of %s %s: %w", pipeline, entity, err)
	}
	if err := tx.Commit(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			return false, err
		}
		return false, fmt.Errorf("finishing the partitions of %s %s: commit: %w", pipeline, entity, err)
	}
	return true, nil
}
