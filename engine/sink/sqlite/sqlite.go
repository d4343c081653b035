// Package sqlite is the embedded default destination: one SQLite file
// (modernc.org/sqlite, pure Go) holding the synced tables and crmsync's
// own state (checkpoints, sync history, rejects, locks).
//
// The file is opened in WAL mode. All writes go through one connection
// (SQLite allows one writer at a time) whose transactions begin IMMEDIATE,
// so two processes never deadlock upgrading a read lock; reads (history,
// rejects, checkpoints) use a separate read-only pool and do not wait for
// a running batch.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/crmsync/crmsync/engine/sink"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

func init() { sink.Register("sqlite", open) }

// Interface guards.
var (
	_ sink.Destination   = (*DB)(nil)
	_ sink.FullRefresher = (*DB)(nil)
)

// DB is a SQLite destination.
type DB struct {
	path string
	w    *sql.DB // the one writer connection
	r    *sql.DB // read-only pool

	token    string // identifies this handle's locks and running syncs
	hostname string

	st stateStmts

	mu     sync.Mutex
	tables map[string]*table   // compiled tables by physical name
	full   map[string]*fullRun // full syncs in progress by table name
	locks  map[*heldLock]struct{}
	closed bool
}

const (
	pragmas     = "_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	defaultBusy = "&_pragma=busy_timeout(10000)"
)

func open(ctx context.Context, dsn string) (sink.Destination, error) { return Open(ctx, dsn) }

// Open opens (creating when missing, unless ctx is from
// sink.OpenExisting) the SQLite file a DSN names:
// sqlite:PATH, relative to the working directory. Driver parameters after
// a "?" (for example ?_pragma=cache_size(-64000)) are passed on.
func Open(ctx context.Context, dsn string) (*DB, error) {
	path, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok {
		return nil, fmt.Errorf("open sqlite destination %q: want sqlite:PATH", dsn)
	}
	path = strings.TrimPrefix(path, "//") // sqlite:///abs/file.db
	path, extra, _ := strings.Cut(path, "?")
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("open sqlite destination %q: want sqlite:PATH with the path of a file", dsn)
	}
	if sink.MustExist(ctx) {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open sqlite %q: %w", path, err)
		}
	}
	if extra != "" {
		extra = "&" + extra
	}
	if !strings.Contains(extra, "busy_timeout") { // the DSN's own wins
		extra = defaultBusy + extra
	}
	w, err := sql.Open("sqlite", path+"?"+pragmas+"&_txlock=immediate"+extra)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	d := &DB{path: path, w: w, tables: map[string]*table{}, full: map[string]*fullRun{}, locks: map[*heldLock]struct{}{}}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	// The writer has switched the file to WAL; readers only need the timeout.
	d.r, err = sql.Open("sqlite", path+"?_pragma=query_only(1)"+extra)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	d.r.SetMaxOpenConns(4)
	var b [8]byte
	rand.Read(b[:])
	d.token = hex.EncodeToString(b[:])
	d.hostname, _ = os.Hostname()
	if err := d.createState(ctx); err != nil {
		d.r.Close()
		d.w.Close()
		return nil, fmt.Errorf("open sqlite %q: %w", path, err)
	}
	return d, nil
}

// Ping checks that the file answers a query.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite %q: %w", d.path, err)
	}
	return nil
}

// Close releases held locks, closes statements and the file.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	held := make([]*heldLock, 0, len(d.locks))
	for l := range d.locks {
		held = append(held, l)
	}
	tables := d.tables
	d.tables = map[string]*table{}
	d.mu.Unlock()
	for _, l := range held {
		l.Unlock()
	}
	for _, t := range tables {
		t.close()
	}
	d.st.close()
	return errors.Join(d.r.Close(), d.w.Close())
}

// quote makes a SQL identifier of any name.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// Writer is the destination's one writer connection (database/sql with a
// single open connection and BEGIN IMMEDIATE transactions), for a job
// queue that keeps its tables in the same file (crmsync serve's River
// client). It stays owned by the DB: Close closes it.
func (d *DB) Writer() *sql.DB { return d.w }
