package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

// State tables, in the destination schema.
const (
	tableHistory = "crmsync_sync_history"
	tableState   = "crmsync_state"
	tableRejects = "crmsync_rejects"
)

// createState creates the schema and the state tables; a transaction
// lock keeps concurrent first runs from racing on CREATE … IF NOT EXISTS.
func (d *DB) createState(ctx context.Context) error {
	// CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when
	// the schema exists: a least-privilege role (USAGE and CREATE on a
	// schema made beforehand) is refused. So it runs only when missing.
	var exists bool
	if err := d.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", d.schema).Scan(&exists); err != nil {
		return fmt.Errorf("looking for schema %q: %w", d.schema, err)
	}
	var stmts []string
	if !exists {
		stmts = append(stmts, "CREATE SCHEMA IF NOT EXISTS "+quote(d.schema))
	}
	stmts = append(stmts,
		`CREATE TABLE IF NOT EXISTS `+d.ident(tableHistory)+` (
			id bigserial PRIMARY KEY,
			pipeline text NOT NULL,
			entity text NOT NULL,
			plan_hash text NOT NULL DEFAULT '',
			started_at timestamptz NOT NULL DEFAULT now(),
			finished_at timestamptz,
			status text NOT NULL,
			processed bigint NOT NULL DEFAULT 0,
			created bigint NOT NULL DEFAULT 0,
			updated bigint NOT NULL DEFAULT 0,
			unchanged bigint NOT NULL DEFAULT 0,
			failed bigint NOT NULL DEFAULT 0,
			filtered bigint NOT NULL DEFAULT 0,
			rejected bigint NOT NULL DEFAULT 0,
			api_calls bigint NOT NULL DEFAULT 0,
			retries bigint NOT NULL DEFAULT 0,
			validation_errors bigint NOT NULL DEFAULT 0,
			processing_errors bigint NOT NULL DEFAULT 0,
			duration_seconds double precision NOT NULL DEFAULT 0,
			records_per_second double precision NOT NULL DEFAULT 0,
			success_rate double precision NOT NULL DEFAULT 0,
			errors jsonb NOT NULL DEFAULT '[]')`,
		`CREATE INDEX IF NOT EXISTS crmsync_sync_history_entity_idx ON `+d.ident(tableHistory)+` (pipeline, entity, id DESC)`,
		`ALTER TABLE `+d.ident(tableHistory)+` ADD COLUMN IF NOT EXISTS duplicates bigint NOT NULL DEFAULT 0`,
		`ALTER TABLE `+d.ident(tableHistory)+` ADD COLUMN IF NOT EXISTS field_warnings jsonb NOT NULL DEFAULT '{}'`,
		`CREATE TABLE IF NOT EXISTS `+d.ident(tableState)+` (
			pipeline text NOT NULL,
			entity text NOT NULL,
			watermark text NOT NULL DEFAULT '',
			resume text NOT NULL DEFAULT '',
			updated_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (pipeline, entity))`,
		`ALTER TABLE `+d.ident(tableState)+` ADD COLUMN IF NOT EXISTS version text NOT NULL DEFAULT ''`,
		`CREATE TABLE IF NOT EXISTS `+d.ident(tableRejects)+` (
			id bigserial PRIMARY KEY,
			pipeline text NOT NULL,
			entity text NOT NULL,
			record_id text NOT NULL DEFAULT '',
			reasons jsonb NOT NULL DEFAULT '[]',
			raw text,
			sync_id bigint,
			created_at timestamptz NOT NULL DEFAULT now())`,
		`CREATE INDEX IF NOT EXISTS crmsync_rejects_entity_idx ON `+d.ident(tableRejects)+` (pipeline, entity, id DESC)`,
		`CREATE INDEX IF NOT EXISTS crmsync_rejects_record_idx ON `+d.ident(tableRejects)+` (pipeline, entity, record_id)`,
		d.claimsDDL(),
	)
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", hash64("crmsync state", d.schema)); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres destination: creating the state tables in schema %q: %w", d.schema, err)
	}
	return nil
}

// Checkpoint returns the entity's stored checkpoint (zero when none).
func (d *DB) Checkpoint(ctx context.Context, pipeline, entity string) (sink.Checkpoint, error) {
	var c sink.Checkpoint
	err := d.pool.QueryRow(ctx, "SELECT watermark, resume, version, updated_at FROM "+d.ident(tableState)+" WHERE pipeline = $1 AND entity = $2",
		pipeline, entity).Scan(&c.Watermark, &c.Resume, &c.Version, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return sink.Checkpoint{}, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading the checkpoint of %s/%s: %w", pipeline, entity, err)
	}
	return c, nil
}

// ResetCheckpoint forgets an entity's checkpoint.
func (d *DB) ResetCheckpoint(ctx context.Context, pipeline, entity string) error {
	if _, err := d.pool.Exec(ctx, "DELETE FROM "+d.ident(tableState)+" WHERE pipeline = $1 AND entity = $2", pipeline, entity); err != nil {
		return fmt.Errorf("resetting the checkpoint of %s/%s: %w", pipeline, entity, err)
	}
	return nil
}

// StartSync records a running sync and returns its id (also set in s.ID).
func (d *DB) StartSync(ctx context.Context, s *sink.Sync) (int64, error) {
	started := s.StartedAt
	if started.IsZero() {
		started = time.Now()
	}
	var id int64
	err := d.pool.QueryRow(ctx, "INSERT INTO "+d.ident(tableHistory)+" (pipeline, entity, plan_hash, started_at, status) VALUES ($1, $2, $3, $4, $5) RETURNING id",
		s.Pipeline, s.Entity, s.PlanHash, started, sink.StatusRunning).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("recording the start of %s/%s: %w", s.Pipeline, s.Entity, err)
	}
	s.ID = id
	d.mu.Lock()
	d.live[id] = true
	d.mu.Unlock()
	return id, nil
}

// FinishSync stores the outcome and counters of sync s.ID.
func (d *DB) FinishSync(ctx context.Context, s *sink.Sync) error {
	// The indexes deferred for the tables this sync loaded first, before
	// the history says it ended; a failure is reported after recording it.
	ierr := d.buildIndexes(ctx, s.ID)
	finished := s.FinishedAt
	if finished.IsZero() {
		finished = time.Now()
	}
	errs := s.Errors
	if errs == nil {
		errs = []string{}
	}
	js, err := json.Marshal(errs)
	if err != nil {
		return fmt.Errorf("recording the end of sync %d: %w", s.ID, err)
	}
	fw, err := fieldWarningsJSON(s.FieldWarnings)
	if err != nil {
		return fmt.Errorf("recording the end of sync %d: %w", s.ID, err)
	}
	tag, err := d.pool.Exec(ctx, "UPDATE "+d.ident(tableHistory)+` SET finished_at = $2, status = $3,
		processed = $4, created = $5, updated = $6, unchanged = $7, failed = $8, filtered = $9, rejected = $10,
		api_calls = $11, retries = $12, validation_errors = $13, processing_errors = $14,
		duration_seconds = $15, records_per_second = $16, success_rate = $17, errors = $18,
		plan_hash = CASE WHEN $19 = '' THEN plan_hash ELSE $19 END, duplicates = $20, field_warnings = $21
		WHERE id = $1`,
		s.ID, finished, s.Status, s.Processed, s.Created, s.Updated, s.Unchanged, s.Failed, s.Filtered, s.Rejected,
		s.APICalls, s.Retries, s.ValidationErrors, s.ProcessingErrors,
		s.Duration.Seconds(), s.RecordsPerSecond, s.SuccessRate, json.RawMessage(js), s.PlanHash, s.Duplicates, json.RawMessage(fw))
	if err != nil {
		return fmt.Errorf("recording the end of sync %d: %w", s.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("recording the end of sync %d: no such sync in %s", s.ID, tableHistory)
	}
	d.mu.Lock()
	delete(d.live, s.ID)
	d.mu.Unlock()
	if ierr != nil {
		return fmt.Errorf("sync %d (recorded): %w (the next sync of the table creates it)", s.ID, ierr)
	}
	return nil
}

const historyCols = `id, pipeline, entity, plan_hash, started_at, finished_at, status, processed, created, updated, unchanged,
	failed, filtered, rejected, api_calls, retries, validation_errors, processing_errors, duration_seconds,
	records_per_second, success_rate, errors, duplicates, field_warnings`

// History lists syncs, newest first.
func (d *DB) History(ctx context.Context, f sink.Filter) ([]sink.Sync, error) {
	rows, err := d.pool.Query(ctx, "SELECT "+historyCols+" FROM "+d.ident(tableHistory)+
		" WHERE ($1 = '' OR pipeline = $1) AND ($2 = '' OR entity = $2) AND ($4 = 0 OR id < $4) ORDER BY id DESC LIMIT $3",
		f.Pipeline, f.Entity, limit(f), f.Before)
	if err != nil {
		return nil, fmt.Errorf("reading sync history: %w", err)
	}
	var out []sink.Sync
	var s sink.Sync
	var finished *time.Time
	var seconds float64
	var errs []string
	var fw map[string]sink.FieldWarning
	_, err = pgx.ForEachRow(rows, []any{&s.ID, &s.Pipeline, &s.Entity, &s.PlanHash, &s.StartedAt, &finished, &s.Status,
		&s.Processed, &s.Created, &s.Updated, &s.Unchanged, &s.Failed, &s.Filtered, &s.Rejected, &s.APICalls, &s.Retries,
		&s.ValidationErrors, &s.ProcessingErrors, &seconds, &s.RecordsPerSecond, &s.SuccessRate, &errs, &s.Duplicates, &fw}, func() error {
		r := s
		if finished != nil {
			r.FinishedAt = *finished
		}
		r.Duration = time.Duration(seconds * float64(time.Second))
		r.Errors = errs
		if len(fw) > 0 {
			r.FieldWarnings = fw
		}
		out = append(out, r)
		finished, errs, fw = nil, nil, nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading sync history: %w", err)
	}
	return out, nil
}

// Rejects lists rejected records, newest first.
func (d *DB) Rejects(ctx context.Context, f sink.Filter) ([]sink.StoredReject, error) {
	rows, err := d.pool.Query(ctx, "SELECT id, pipeline, entity, record_id, reasons, coalesce(raw, ''), coalesce(sync_id, 0), created_at FROM "+
		d.ident(tableRejects)+" WHERE ($1 = '' OR pipeline = $1) AND ($2 = '' OR entity = $2) AND ($4 = 0 OR id < $4) ORDER BY id DESC LIMIT $3",
		f.Pipeline, f.Entity, limit(f), f.Before)
	if err != nil {
		return nil, fmt.Errorf("reading rejects: %w", err)
	}
	var out []sink.StoredReject
	var r sink.StoredReject
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Pipeline, &r.Entity, &r.RecordID, &r.Reasons, &r.Raw, &r.SyncID, &r.CreatedAt}, func() error {
		out = append(out, r)
		r.Reasons = nil
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading rejects: %w", err)
	}
	return out, nil
}

// fieldWarningsJSON is the field_warnings column's text: {} for none.
func fieldWarningsJSON(fw map[string]sink.FieldWarning) ([]byte, error) {
	if len(fw) == 0 {
		return []byte("{}"), nil
	}
	return json.Marshal(fw)
}

// limit is the SQL LIMIT of a filter; NULL (no limit) when unset.
func limit(f sink.Filter) any {
	if f.Limit <= 0 {
		return nil
	}
	return f.Limit
}
