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

type heldLock struct {
	d                *DB
	pipeline, entity string
	stop, done       chan struct{}
	once             sync.Once
}

// Lock takes an entity's lock, or returns an error wrapping
// sink.ErrLocked at once when a live process (this one included) holds it.
func (d *DB) Lock(ctx context.Context, pipeline, entity string) (func(), error) {
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
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("lock pipeline %q entity %q: %w", pipeline, entity, err)
	}
	l := &heldLock{d: d, pipeline: pipeline, entity: entity, stop: make(chan struct{}), done: make(chan struct{})}
	d.mu.Lock()
	d.locks[l] = struct{}{}
	d.mu.Unlock()
	go l.heartbeat()
	return l.release, nil
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
			cancel()
		}
	}
}

// release stops the heartbeat and deletes the lock row if it is still ours.
func (l *heldLock) release() {
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
