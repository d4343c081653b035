package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// stateSchema creates crmsync's own tables. Times are UTC text in
// timeLayout; errors and reasons are JSON arrays.
var stateSchema = []string{
	`CREATE TABLE IF NOT EXISTS crmsync_sync_history (
		id INTEGER PRIMARY KEY,
		pipeline TEXT NOT NULL,
		entity TEXT NOT NULL,
		plan_hash TEXT,
		started_at DATETIME_TEXT NOT NULL,
		finished_at DATETIME_TEXT,
		status TEXT NOT NULL,
		processed BIGINT NOT NULL DEFAULT 0,
		created BIGINT NOT NULL DEFAULT 0,
		updated BIGINT NOT NULL DEFAULT 0,
		unchanged BIGINT NOT NULL DEFAULT 0,
		failed BIGINT NOT NULL DEFAULT 0,
		filtered BIGINT NOT NULL DEFAULT 0,
		rejected BIGINT NOT NULL DEFAULT 0,
		api_calls BIGINT NOT NULL DEFAULT 0,
		retries BIGINT NOT NULL DEFAULT 0,
		validation_errors BIGINT NOT NULL DEFAULT 0,
		processing_errors BIGINT NOT NULL DEFAULT 0,
		duration_seconds REAL NOT NULL DEFAULT 0,
		records_per_second REAL NOT NULL DEFAULT 0,
		success_rate REAL NOT NULL DEFAULT 0,
		errors JSON_TEXT NOT NULL DEFAULT '[]',
		owner TEXT
	)`,
	`CREATE INDEX IF NOT EXISTS crmsync_sync_history_entity ON crmsync_sync_history (pipeline, entity, id)`,
	`CREATE INDEX IF NOT EXISTS crmsync_sync_history_running ON crmsync_sync_history (status) WHERE status = 'running'`,
	`CREATE TABLE IF NOT EXISTS crmsync_state (
		pipeline TEXT NOT NULL,
		entity TEXT NOT NULL,
		watermark TEXT NOT NULL DEFAULT '',
		resume TEXT NOT NULL DEFAULT '',
		updated_at DATETIME_TEXT NOT NULL,
		PRIMARY KEY (pipeline, entity)
	)`,
	`CREATE TABLE IF NOT EXISTS crmsync_rejects (
		id INTEGER PRIMARY KEY,
		pipeline TEXT NOT NULL,
		entity TEXT NOT NULL,
		record_id TEXT,
		reasons JSON_TEXT NOT NULL,
		raw JSON_TEXT,
		sync_id BIGINT,
		created_at DATETIME_TEXT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS crmsync_rejects_entity ON crmsync_rejects (pipeline, entity, id)`,
	`CREATE INDEX IF NOT EXISTS crmsync_rejects_record ON crmsync_rejects (pipeline, entity, record_id)`,
	// Each entity's fencing token; see DB.Lock and checkFence.
	`CREATE TABLE IF NOT EXISTS crmsync_claims (
		pipeline TEXT NOT NULL,
		entity TEXT NOT NULL,
		epoch BIGINT NOT NULL,
		PRIMARY KEY (pipeline, entity)
	)`,
	`CREATE TABLE IF NOT EXISTS crmsync_locks (
		pipeline TEXT NOT NULL,
		entity TEXT NOT NULL,
		pid BIGINT NOT NULL,
		hostname TEXT NOT NULL,
		token TEXT NOT NULL,
		acquired_at DATETIME_TEXT NOT NULL,
		heartbeat_at DATETIME_TEXT NOT NULL,
		PRIMARY KEY (pipeline, entity)
	)`,
}

// stateStmts are the statements of the write path, prepared once.
type stateStmts struct {
	reject, checkpoint *sql.Stmt
}

func (s *stateStmts) close() {
	for _, st := range []*sql.Stmt{s.reject, s.checkpoint} {
		if st != nil {
			st.Close()
		}
	}
}

func (d *DB) createState(ctx context.Context) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range stateSchema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create state tables: %w", err)
		}
	}
	if err := addColumns(ctx, tx); err != nil {
		return fmt.Errorf("create state tables: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create state tables: %w", err)
	}
	if d.st.reject, err = d.w.PrepareContext(ctx, `INSERT INTO crmsync_rejects
		(pipeline, entity, record_id, reasons, raw, sync_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return err
	}
	if d.st.checkpoint, err = d.w.PrepareContext(ctx, `INSERT INTO crmsync_state
		(pipeline, entity, watermark, resume, version, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (pipeline, entity) DO UPDATE SET
		watermark = excluded.watermark, resume = excluded.resume, version = excluded.version, updated_at = excluded.updated_at`); err != nil {
		d.st.close()
		return err
	}
	return nil
}

// Checkpoint returns an entity's stored checkpoint; the zero Checkpoint
// when it has none.
func (d *DB) Checkpoint(ctx context.Context, pipeline, entity string) (sink.Checkpoint, error) {
	var cp sink.Checkpoint
	var at string
	err := d.r.QueryRowContext(ctx, `SELECT watermark, resume, version, updated_at FROM crmsync_state
		WHERE pipeline = ? AND entity = ?`, pipeline, entity).Scan(&cp.Watermark, &cp.Resume, &cp.Version, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return sink.Checkpoint{}, nil
	}
	if err != nil {
		return cp, fmt.Errorf("read checkpoint of pipeline %q entity %q: %w", pipeline, entity, err)
	}
	if cp.UpdatedAt, err = parseTime(at); err != nil {
		return cp, fmt.Errorf("read checkpoint of pipeline %q entity %q: updated_at %q: %w", pipeline, entity, at, err)
	}
	return cp, nil
}

// ResetCheckpoint forgets an entity's checkpoint (the contract documents
// it beside State but does not declare it).
func (d *DB) ResetCheckpoint(ctx context.Context, pipeline, entity string) error {
	if _, err := d.w.ExecContext(ctx, `DELETE FROM crmsync_state WHERE pipeline = ? AND entity = ?`, pipeline, entity); err != nil {
		return fmt.Errorf("reset checkpoint of pipeline %q entity %q: %w", pipeline, entity, err)
	}
	return nil
}

// StartSync records a running sync and returns its id (also set in s.ID).
func (d *DB) StartSync(ctx context.Context, s *sink.Sync) (int64, error) {
	if s.StartedAt.IsZero() {
		s.StartedAt = time.Now()
	}
	if s.Status == "" {
		s.Status = sink.StatusRunning
	}
	errs, _ := json.Marshal(nonNil(s.Errors))
	r, err := d.w.ExecContext(ctx, `INSERT INTO crmsync_sync_history
		(pipeline, entity, plan_hash, started_at, status, errors, owner) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.Pipeline, s.Entity, s.PlanHash, formatTime(s.StartedAt), s.Status, string(errs), d.token)
	if err != nil {
		return 0, fmt.Errorf("start sync of pipeline %q entity %q: %w", s.Pipeline, s.Entity, err)
	}
	if s.ID, err = r.LastInsertId(); err != nil {
		return 0, fmt.Errorf("start sync of pipeline %q entity %q: %w", s.Pipeline, s.Entity, err)
	}
	return s.ID, nil
}

// FinishSync stores a sync's outcome, counts and metrics.
func (d *DB) FinishSync(ctx context.Context, s *sink.Sync) error {
	if s.FinishedAt.IsZero() {
		s.FinishedAt = time.Now()
	}
	errs, _ := json.Marshal(nonNil(s.Errors))
	fw := []byte("{}")
	if len(s.FieldWarnings) > 0 {
		fw, _ = json.Marshal(s.FieldWarnings)
	}
	r, err := d.w.ExecContext(ctx, `UPDATE crmsync_sync_history SET
		finished_at = ?, status = ?, processed = ?, created = ?, updated = ?, unchanged = ?, failed = ?,
		filtered = ?, rejected = ?, api_calls = ?, retries = ?, validation_errors = ?, processing_errors = ?,
		duration_seconds = ?, records_per_second = ?, success_rate = ?, errors = ?, plan_hash = ?, duplicates = ?,
		field_warnings = ? WHERE id = ?`,
		formatTime(s.FinishedAt), s.Status, s.Processed, s.Created, s.Updated, s.Unchanged, s.Failed,
		s.Filtered, s.Rejected, s.APICalls, s.Retries, s.ValidationErrors, s.ProcessingErrors,
		s.Duration.Seconds(), s.RecordsPerSecond, s.SuccessRate, string(errs), s.PlanHash, s.Duplicates, string(fw), s.ID)
	if err != nil {
		return fmt.Errorf("finish sync %d of pipeline %q entity %q: %w", s.ID, s.Pipeline, s.Entity, err)
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return fmt.Errorf("finish sync %d of pipeline %q entity %q: no such sync", s.ID, s.Pipeline, s.Entity)
	}
	return nil
}

// MarkInterrupted turns "running" rows whose process no longer holds the
// entity's lock into "interrupted". A running sync holds the lock of its
// entity under its handle's token, so a row is alive while a live lock
// with its owner's token exists, or when this handle started it.
func (d *DB) MarkInterrupted(ctx context.Context, pipeline, entity string) (int, error) {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("mark interrupted syncs: %w", err)
	}
	defer tx.Rollback()
	where, args := filterSQL(sink.Filter{Pipeline: pipeline, Entity: entity}, "h.")
	q := `SELECT h.id, l.pid, l.hostname, l.heartbeat_at FROM crmsync_sync_history h
		LEFT JOIN crmsync_locks l ON l.token = h.owner AND l.pipeline = h.pipeline AND l.entity = h.entity
		WHERE h.status = 'running' AND h.owner IS NOT ?` + strings.ReplaceAll(where, " WHERE ", " AND ")
	rows, err := tx.QueryContext(ctx, q, append([]any{d.token}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("mark interrupted syncs: %w", err)
	}
	var dead []int64
	now := time.Now()
	for rows.Next() {
		var id int64
		var pid sql.NullInt64
		var host, beat sql.NullString
		if err := rows.Scan(&id, &pid, &host, &beat); err != nil {
			rows.Close()
			return 0, fmt.Errorf("mark interrupted syncs: %w", err)
		}
		if !pid.Valid || !d.holderAlive(int(pid.Int64), host.String, beat.String, now) {
			dead = append(dead, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("mark interrupted syncs: %w", err)
	}
	for _, id := range dead {
		if _, err := tx.ExecContext(ctx, `UPDATE crmsync_sync_history SET status = ?, finished_at = ? WHERE id = ?`,
			sink.StatusInterrupted, formatTime(now), id); err != nil {
			return 0, fmt.Errorf("mark sync %d interrupted: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("mark interrupted syncs: %w", err)
	}
	return len(dead), nil
}

// History lists syncs, newest first.
func (d *DB) History(ctx context.Context, f sink.Filter) ([]sink.Sync, error) {
	where, args := filterSQL(f, "")
	rows, err := d.r.QueryContext(ctx, `SELECT id, pipeline, entity, COALESCE(plan_hash, ''), started_at,
		COALESCE(finished_at, ''), status, processed, created, updated, unchanged, failed, filtered, rejected,
		api_calls, retries, validation_errors, processing_errors, duration_seconds, records_per_second,
		success_rate, errors, duplicates, field_warnings FROM crmsync_sync_history`+where+` ORDER BY id DESC`+limitSQL(f), args...)
	if err != nil {
		return nil, fmt.Errorf("read sync history: %w", err)
	}
	defer rows.Close()
	var out []sink.Sync
	for rows.Next() {
		var s sink.Sync
		var started, finished, errs, fw string
		var secs float64
		if err := rows.Scan(&s.ID, &s.Pipeline, &s.Entity, &s.PlanHash, &started, &finished, &s.Status,
			&s.Processed, &s.Created, &s.Updated, &s.Unchanged, &s.Failed, &s.Filtered, &s.Rejected,
			&s.APICalls, &s.Retries, &s.ValidationErrors, &s.ProcessingErrors, &secs, &s.RecordsPerSecond,
			&s.SuccessRate, &errs, &s.Duplicates, &fw); err != nil {
			return nil, fmt.Errorf("read sync history: %w", err)
		}
		if s.StartedAt, err = parseTime(started); err != nil {
			return nil, fmt.Errorf("read sync %d: started_at %q: %w", s.ID, started, err)
		}
		if finished != "" {
			if s.FinishedAt, err = parseTime(finished); err != nil {
				return nil, fmt.Errorf("read sync %d: finished_at %q: %w", s.ID, finished, err)
			}
		}
		s.Duration = time.Duration(secs * float64(time.Second))
		if err := json.Unmarshal([]byte(errs), &s.Errors); err != nil {
			return nil, fmt.Errorf("read sync %d: errors: %w", s.ID, err)
		}
		if fw != "{}" && fw != "" {
			if err := json.Unmarshal([]byte(fw), &s.FieldWarnings); err != nil {
				return nil, fmt.Errorf("read sync %d: field_warnings: %w", s.ID, err)
			}
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read sync history: %w", err)
	}
	return out, nil
}

// Rejects lists rejected records, newest first.
func (d *DB) Rejects(ctx context.Context, f sink.Filter) ([]sink.StoredReject, error) {
	where, args := filterSQL(f, "")
	rows, err := d.r.QueryContext(ctx, `SELECT id, pipeline, entity, COALESCE(record_id, ''), reasons,
		COALESCE(raw, ''), COALESCE(sync_id, 0), created_at FROM crmsync_rejects`+where+` ORDER BY id DESC`+limitSQL(f), args...)
	if err != nil {
		return nil, fmt.Errorf("read rejects: %w", err)
	}
	defer rows.Close()
	var out []sink.StoredReject
	for rows.Next() {
		var r sink.StoredReject
		var reasons, created string
		if err := rows.Scan(&r.ID, &r.Pipeline, &r.Entity, &r.RecordID, &reasons, &r.Raw, &r.SyncID, &created); err != nil {
			return nil, fmt.Errorf("read rejects: %w", err)
		}
		if err := json.Unmarshal([]byte(reasons), &r.Reasons); err != nil {
			return nil, fmt.Errorf("read reject of record %q: reasons: %w", r.RecordID, err)
		}
		if r.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("read reject of record %q: created_at %q: %w", r.RecordID, created, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rejects: %w", err)
	}
	return out, nil
}

func filterSQL(f sink.Filter, prefix string) (string, []any) {
	var conds []string
	var args []any
	if f.Pipeline != "" {
		conds = append(conds, prefix+"pipeline = ?")
		args = append(args, f.Pipeline)
	}
	if f.Entity != "" {
		conds = append(conds, prefix+"entity = ?")
		args = append(args, f.Entity)
	}
	if f.Before != 0 {
		conds = append(conds, prefix+"id < ?")
		args = append(args, f.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func limitSQL(f sink.Filter) string {
	if f.Limit > 0 {
		return fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
