// Package memory is a destination that keeps everything in memory: the
// rows of each table (upserted on their primary key, or appended), the
// child rows, the rejects, the checkpoints and the sync history. The
// authoring verbs (preview, check, test) run the real runner into it, so
// that what they show is what a sync does, and nothing lands anywhere.
package memory

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// DB is an in-memory sink.Destination (and sink.FullRefresher). The zero
// value is not usable: call New.
type DB struct {
	mu      sync.Mutex
	tables  map[string]*Table
	state   map[string]sink.Checkpoint
	history []sink.Sync
	rejects []sink.StoredReject
	locks   map[string]bool
	batches int
}

// Table is the content of one table.
type Table struct {
	Def  *sink.Table
	Rows []sink.Row // in the order they first arrived; an upsert replaces in place
	keys map[string]int
}

var (
	_ sink.Destination   = (*DB)(nil)
	_ sink.FullRefresher = (*DB)(nil)
)

// New returns an empty destination.
func New() *DB {
	return &DB{tables: map[string]*Table{}, state: map[string]sink.Checkpoint{}, locks: map[string]bool{}}
}

func key(pipeline, entity string) string { return pipeline + "\x00" + entity }

// Prepare creates the table when it is new.
func (d *DB) Prepare(_ context.Context, t *sink.Table) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tables[t.Name]; !ok {
		d.tables[t.Name] = &Table{Def: t, keys: map[string]int{}}
	}
	return nil
}

// Write applies a batch: rows, child rows, rejects and the checkpoint,
// all at once.
func (d *DB) Write(_ context.Context, b *sink.Batch) (sink.Result, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var res sink.Result
	d.batches++
	if b.Table != nil {
		t := d.table(b.Table)
		for _, r := range b.Rows {
			if t.put(r) {
				res.Created++
			} else {
				res.Updated++
			}
		}
	} else if len(b.Rows) > 0 {
		return res, fmt.Errorf("write %q: rows without a table", b.Entity)
	}
	for _, cr := range b.Children {
		t := d.table(cr.Table)
		t.replaceChildren(cr)
	}
	now := time.Now().UTC()
	for _, rj := range b.Rejects {
		d.rejects = append(d.rejects, sink.StoredReject{ID: int64(len(d.rejects) + 1), Pipeline: b.Pipeline, Entity: b.Entity, RecordID: rj.RecordID,
			Reasons: rj.Reasons, Raw: rj.Raw, SyncID: b.SyncID, CreatedAt: now})
	}
	if b.Checkpoint != nil {
		cp := *b.Checkpoint
		cp.UpdatedAt = now
		d.state[key(b.Pipeline, b.StateKey())] = cp
	}
	return res, nil
}

func (d *DB) table(def *sink.Table) *Table {
	t, ok := d.tables[def.Name]
	if !ok {
		t = &Table{Def: def, keys: map[string]int{}}
		d.tables[def.Name] = t
	}
	return t
}

// put upserts (or appends) a row and reports whether it is new.
func (t *Table) put(r sink.Row) bool {
	r.Values = append([]any(nil), r.Values...)
	if len(t.Def.PrimaryKey) == 0 || t.Def.Write == sink.Append {
		t.Rows = append(t.Rows, r)
		return true
	}
	k := t.keyOf(r.Values, t.Def.PrimaryKey)
	if i, ok := t.keys[k]; ok {
		t.Rows[i] = r
		return false
	}
	t.keys[k] = len(t.Rows)
	t.Rows = append(t.Rows, r)
	return true
}

// replaceChildren removes the children of the listed parents and adds
// the new rows.
func (t *Table) replaceChildren(cr sink.ChildRows) {
	n := len(t.Def.ParentKey)
	gone := map[string]bool{}
	for _, p := range cr.Parents {
		gone[fmt.Sprint(p)] = true
	}
	kept := t.Rows[:0]
	for _, r := range t.Rows {
		if n <= len(r.Values) && gone[fmt.Sprint(r.Values[:n])] {
			continue
		}
		kept = append(kept, r)
	}
	t.Rows = kept
	for _, r := range cr.Rows {
		r.Values = append([]any(nil), r.Values...)
		t.Rows = append(t.Rows, r)
	}
	t.keys = map[string]int{} // child tables are read, not upserted into
}

func (t *Table) keyOf(vals []any, names []string) string {
	var b strings.Builder
	for _, name := range names {
		for i, c := range t.Def.Columns {
			if c.Name == name && i < len(vals) {
				fmt.Fprintf(&b, "%T:%v\x00", vals[i], vals[i])
			}
		}
	}
	return b.String()
}

// Rows returns a copy of a table's rows (nil for an unknown table).
func (d *DB) Rows(table string) []sink.Row {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tables[table]
	if !ok {
		return nil
	}
	return append([]sink.Row(nil), t.Rows...)
}

// Batches is how many batches were written.
func (d *DB) Batches() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.batches
}

// BeginFull starts a full refresh (nothing to prepare in memory).
func (d *DB) BeginFull(context.Context, *sink.Table, int64, sink.Fence) error { return nil }

// FinishFull ends a full refresh. Rows of earlier syncs stay: a memory
// destination lives for one read, so there are none to remove.
func (d *DB) FinishFull(context.Context, *sink.Table, int64, bool) error { return nil }

// Checkpoint returns the stored checkpoint of an entity.
func (d *DB) Checkpoint(_ context.Context, pipeline, entity string) (sink.Checkpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.state[key(pipeline, entity)], nil
}

// SetCheckpoint stores a checkpoint, as an earlier sync would have.
func (d *DB) SetCheckpoint(pipeline, entity string, cp sink.Checkpoint) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state[key(pipeline, entity)] = cp
}

// StartSync records a running sync.
func (d *DB) StartSync(_ context.Context, s *sink.Sync) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s.ID = int64(len(d.history) + 1)
	d.history = append(d.history, *s)
	return s.ID, nil
}

// FinishSync records a sync's outcome.
func (d *DB) FinishSync(_ context.Context, s *sink.Sync) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s.ID < 1 || int(s.ID) > len(d.history) {
		return fmt.Errorf("no sync %d", s.ID)
	}
	d.history[s.ID-1] = *s
	return nil
}

// MarkInterrupted has nothing to do: no other process shares the memory.
func (d *DB) MarkInterrupted(context.Context, string, string) (int, error) { return 0, nil }

// History returns the recorded syncs, newest first.
func (d *DB) History(_ context.Context, f sink.Filter) ([]sink.Sync, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []sink.Sync
	for i := len(d.history) - 1; i >= 0; i-- {
		s := d.history[i]
		if (f.Pipeline == "" || s.Pipeline == f.Pipeline) && (f.Entity == "" || s.Entity == f.Entity) && (f.Before == 0 || s.ID < f.Before) {
			out = append(out, s)
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
		}
	}
	return out, nil
}

// Rejects returns the stored rejects, in the order they were written.
func (d *DB) Rejects(_ context.Context, f sink.Filter) ([]sink.StoredReject, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []sink.StoredReject
	for _, r := range d.rejects {
		if (f.Pipeline == "" || r.Pipeline == f.Pipeline) && (f.Entity == "" || r.Entity == f.Entity) && (f.Before == 0 || r.ID < f.Before) {
			out = append(out, r)
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
		}
	}
	return out, nil
}

// Lock keeps two syncs of one entity apart within the process.
func (d *DB) Lock(_ context.Context, pipeline, entity string) (func(), error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := key(pipeline, entity)
	if d.locks[k] {
		return nil, fmt.Errorf("lock pipeline %q entity %q: %w", pipeline, entity, sink.ErrLocked)
	}
	d.locks[k] = true
	return func() {
		d.mu.Lock()
		delete(d.locks, k)
		d.mu.Unlock()
	}, nil
}

// Ping always succeeds.
func (d *DB) Ping(context.Context) error { return nil }

// Close does nothing; the content stays readable.
func (d *DB) Close() error { return nil }
