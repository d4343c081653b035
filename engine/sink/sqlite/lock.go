package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// A lock is a row of crmsync_locks. Its holder refreshes heartbeat_at
// while it runs; a row whose heartbeat is older than staleAfter, or whose
// process on this host is gone, is taken over.
var (
	staleAfter     = 2 * time.Minute
	heartbeatEvery = 30 * time.Second
)

// Each claim also bumps the entity's epoch in crmsync_claims, and every
// fenced write checks it in its own transaction (SQLite runs one writer
// at a time), so a process whose lock was taken over — stopped for longer
// than staleAfter, its heartbeat missed — cannot commit another row.
type heldLock struct {
	d                *DB
	pipeline, entity string
	epoch            int64
	lost             func(error)
	stop, done       chan struct{}
	once             sync.Once

	mu  sync.Mutex
	err error // set once the lock is known gone
}

// Lock takes an entity's lock, or returns an error wrapping
// sink.ErrLocked at once when a live process (this one included) holds it.
func (d *DB) Lock(ctx context.Context, pipeline, entity string) (func(), error) {
	l, err := d.LockWatched(ctx, pipeline, entity, nil)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

// LockWatched is Lock with a claim: its heartbeat notices a takeover and
// calls lost once.
func (d *DB) LockWatched(ctx context.Context, pipeline, entity string, lost func(error)) (sink.Claim, error) {
	tx, err := d.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one locker at a time
	if err != nil {
		return nil, fmt.Errorf("lock pipeline %q entity %q: %w", pipeline, entity, err)
	}
	defer tx.Rollback()
	var pid int64
	var host, beat string
	now := time.Now()
	err = tx.QueryRowContext(ctx, `SELECT pid, hostname, heartbeat_at FROM crmsync_locks
		WHERE pipeline = ? AND entity = ?`, pipeline, entity).Scan(&pid, &host, &beat)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("lock pipeline %q entity %q: %w", pipeline, entity, err)
	case d.holderAlive(int(pid), host, beat, now):
		return nil, fmt.Errorf("lock pipeline %q entity %q: held by pid %d on host %q (heartbeat %s): %w",
			pipeline, entity, pid, host, beat, sink.ErrLocked)
	}
	stamp := formatTime(now)
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO crmsync_locks
		(pipeline, entity, pid, hostname, token, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		pipeline, entity, os.Getpid(), d.hostname, d.token, stamp, stamp); err != nil {
		return nil, fmt.Errorf("lock pipeline %q entity %q: %w", pipeline, entity, err)
	}
	var epoch int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO crmsync_claims (pipeline, entity, epoch) VALUES (?, ?, 1)
		ON CONFLICT (pipeline, entity) DO UPDATE SET epoch = epoch + 1 RETURNING epoch`, pipeline, entity).Scan(&epoch); err != nil {
		return nil, fmt.Errorf("lock pipeline %q entity %q: claiming: %w", pipeline, entity, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("lock pipeline %q entity %q: %w", pipeline, entity, err)
	}
	l := &heldLock{d: d, pipeline: pipeline, entity: entity, epoch: epoch, lost: lost,
		stop: make(chan struct{}), done: make(chan struct{})}
	d.mu.Lock()
	d.locks[l] = struct{}{}
	d.mu.Unlock()
	go l.heartbeat()
	return l, nil
}

func (l *heldLock) Epoch() int64 { return l.epoch }

// Check reads the claim: an error means another process took the entity over.
func (l *heldLock) Check(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	err := checkFence(ctx, l.d.w, sink.Fence{Pipeline: l.pipeline, Entity: l.entity, Epoch: l.epoch})
	if err == nil || !errors.Is(err, sink.ErrClaimLost) {
		return nil // a busy or failing read is not proof of a takeover
	}
	l.err = err
	if l.lost != nil {
		go l.lost(err)
	}
	return err
}

// querier is what checkFence reads with: the database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkFence returns an error wrapping sink.ErrClaimLost when f's epoch
// is no longer the entity's newest claim (no-op for an unfenced write).
func checkFence(ctx context.Context, q querier, f sink.Fence) error {
	if f.Epoch == 0 {
		return nil
	}
	var epoch int64
	err := q.QueryRowContext(ctx, `SELECT epoch FROM crmsync_claims WHERE pipeline = ? AND entity = ?`, f.Pipeline, f.Entity).Scan(&epoch)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s %s: no claim is recorded for it (epoch %d expected): %w", f.Pipeline, f.Entity, f.Epoch, sink.ErrClaimLost)
	case err != nil:
		return fmt.Errorf("reading the claim of %s %s: %w", f.Pipeline, f.Entity, err)
	case epoch != f.Epoch:
		return fmt.Errorf("%s %s was claimed again (epoch %d) after this run's claim (epoch %d), by another process that took over its lock; this run commits nothing more: %w",
			f.Pipeline, f.Entity, epoch, f.Epoch, sink.ErrClaimLost)
	}
	return nil
}

func (l *heldLock) heartbeat() {
	defer close(l.done)
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			// A failed beat is retried on the next tick; the lock stays
			// live for staleAfter, several beats.
			ctx, cancel := context.WithTimeout(context.Background(), heartbeatEvery)
			l.d.w.ExecContext(ctx, `UPDATE crmsync_locks SET heartbeat_at = ?
				WHERE pipeline = ? AND entity = ? AND token = ?`, formatTime(time.Now()), l.pipeline, l.entity, l.d.token)
			lost := l.Check(ctx) != nil
			cancel()
			if lost {
				return
			}
		}
	}
}

// Unlock stops the heartbeat and deletes the lock row if it is still ours.
func (l *heldLock) Unlock() {
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		l.d.w.ExecContext(ctx, `DELETE FROM crmsync_locks WHERE pipeline = ? AND entity = ? AND token = ?`,
			l.pipeline, l.entity, l.d.token)
		l.d.mu.Lock()
		delete(l.d.locks, l)
		l.d.mu.Unlock()
	})
}

// holderAlive reports whether a lock row belongs to a live process: its
// heartbeat is recent and, on this host, its process still exists (which
// frees the lock of a crashed run at once instead of after staleAfter).
func (d *DB) holderAlive(pid int, host, beat string, now time.Time) bool {
	t, err := parseTime(beat)
	if err != nil || now.Sub(t) >= staleAfter {
		return false
	}
	if host == d.hostname && !pidAlive(pid) {
		return false
	}
	return true
}
