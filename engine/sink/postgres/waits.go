package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crmsync/crmsync/engine/sink"
)

// Defaults for the sessions crmsync opens, unless the DSN sets them
// (?lock_timeout=10min&statement_timeout=0): a table locked elsewhere
// (an ALTER, a VACUUM FULL, a forgotten open transaction) fails the batch
// with a clear error instead of stalling the run without end.
var sessionDefaults = map[string]string{
	"lock_timeout":      "2min",
	"statement_timeout": "30min",
	"application_name":  "crmsync",
}

// waitLogEvery is how long a batch waits before it says what blocks it
// (and again after each such span).
var waitLogEvery = 10 * time.Second

// watchWaits logs, while a batch runs on the backend pid, which sessions
// block it and what they run, every waitLogEvery. stop ends the watch.
func (d *DB) watchWaits(ctx context.Context, pid uint32, table string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(waitLogEvery)
		defer t.Stop()
		waited := time.Duration(0)
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			waited += waitLogEvery
			d.logBlockers(ctx, pid, table, waited)
		}
	}()
	return func() { close(done); <-finished }
}

func (d *DB) logBlockers(ctx context.Context, pid uint32, table string, waited time.Duration) {
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rows, err := d.pool.Query(qctx, `SELECT a.pid, coalesce(a.application_name, ''), coalesce(a.state, ''),
		left(coalesce(a.query, ''), 200), coalesce(extract(epoch FROM now() - a.xact_start), 0)::bigint
		FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids($1::int))`, int64(pid))
	if err != nil {
		return
	}
	type blocker struct {
		pid             int64
		app, state, sql string
		xactSeconds     int64
	}
	var b blocker
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (blocker, error) {
		err := r.Scan(&b.pid, &b.app, &b.state, &b.sql, &b.xactSeconds)
		return b, err
	})
	if err != nil || len(list) == 0 {
		return // slow, but not waiting for a lock
	}
	for _, b := range list {
		sink.Logger(ctx).Warn(fmt.Sprintf("writing to table %s has waited %s for a lock held by session %d", table, waited, b.pid),
			"blocker_pid", b.pid, "blocker_application", b.app, "blocker_state", b.state,
			"blocker_transaction_seconds", b.xactSeconds, "blocker_query", b.sql)
	}
}

// lockTimeoutHint says what to do when lock_timeout or statement_timeout
// ended a batch.
func lockTimeoutHint(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "55P03": // lock_not_available
		return fmt.Errorf("%w (another session held a lock on the table for longer than lock_timeout; see pg_locks, or set lock_timeout in the DSN to wait longer)", err)
	case "57014": // query_canceled, by statement_timeout
		return fmt.Errorf("%w (the statement ran longer than statement_timeout; set statement_timeout in the DSN to allow longer)", err)
	}
	return err
}
