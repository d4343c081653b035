package runner

import (
	"context"
	"log/slog"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
)

// Hooks let a caller watch and bound a sync without a read path of its
// own: crmsync preview, check and test run the runner itself (into an
// in-memory destination) through them, so that what they show is what a
// sync does — the same requests, parent batching, read state and child
// rows.
//
// With Hooks set, pages are read in lockstep: the next page is asked for
// only once the current one was processed, so a read stopped by
// MaxRecords or Page sends no request past the page it stopped on.
type Hooks struct {
	// Probe, when set, opens every reader of the sync (a substream's
	// parent reader too) through source.Prober where the source has it.
	Probe *source.Probe
	// SourceLogger, when set, gets the sources' log lines (retries, rate
	// limits); Options.Logger keeps the runner's and the record path's.
	SourceLogger *slog.Logger
	// MaxRecords, when above 0, stops the read once this many records
	// were processed, like the entity's max_records (the smaller wins),
	// and also at the end of a page that reached it.
	MaxRecords int
	// Page is called after each page was processed; false ends the read
	// there, as max_records does.
	Page func(PageInfo) bool
	// Record is called for each record the record path handled, and for
	// each record the source could not read.
	Record func(RecordEvent)
	// Error is called with the sync's error before it is redacted and
	// flattened into Result.Err, chain intact (for a diagnosis). It may
	// hold secrets: never log it as it is.
	Error func(error)
}

// PageInfo describes a processed page.
type PageInfo struct {
	Number  int
	Records int // records on the page, including those the source could not read
	Total   int // what the source says it holds, -1 unknown
}

// RecordEvent is one record as the record path left it. Its slices are
// the callee's to keep.
type RecordEvent struct {
	Raw string // the source record
	// Unreadable is set for a record the source could not read; the
	// fields below are then empty.
	Unreadable *source.Reject
	Outcome    transform.Outcome
	ID         string
	Values     []any // by field, in Program.Fields order
	Reasons    []string
	// Children holds, per child table of the entity (in Entity.Children
	// order), the rows made from this record; ChildRejects the child
	// elements that were rejected.
	Children     [][]sink.Row
	ChildRejects []sink.Reject
}

// hookMark is where the batch stood before a record: its child rows and
// rejects made since belong to that record.
type hookMark struct {
	kids    []int
	rejects int
}

// open opens a reader of the sync: probed where the hooks ask for it.
func (s *syncer) open(ctx context.Context, op source.Opener) (source.Reader, error) {
	env := &source.Env{Logger: s.log, Redact: s.plan.Redact, Version: s.o.Version, WrapTransport: s.o.WrapTransport}
	h := s.o.Hooks
	if h == nil {
		return op.Open(ctx, env)
	}
	if h.SourceLogger != nil {
		env.Logger = h.SourceLogger.With("pipeline", s.plan.Name, "entity", s.e.Name)
	}
	if p, ok := op.(source.Prober); ok && h.Probe != nil {
		return p.OpenProbe(ctx, env, *h.Probe)
	}
	return op.Open(ctx, env)
}

// maxRecords is the record limit of this run (0: none).
func (s *syncer) maxRecords() int64 {
	m := int64(s.e.MaxRecords)
	if h := s.o.Hooks; h != nil && h.MaxRecords > 0 && (m == 0 || int64(h.MaxRecords) < m) {
		m = int64(h.MaxRecords)
	}
	return m
}

// lockstep returns the channel on which the consumer lets the reader go
// on after each page; nil without hooks.
func (s *syncer) lockstep() chan struct{} {
	if s.o.Hooks == nil {
		return nil
	}
	return make(chan struct{})
}

// waitProcessed holds the reader until its page was processed.
func waitProcessed(ctx context.Context, step chan struct{}) error {
	if step == nil {
		return nil
	}
	select {
	case <-step:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// afterPage asks the hooks whether to go on after a processed page, and
// ends the read (as max_records does) when not.
func (s *syncer) afterPage(p source.Page) {
	h := s.o.Hooks
	if h == nil {
		return
	}
	if h.MaxRecords > 0 && s.r.Processed >= int64(h.MaxRecords) {
		s.truncated = true
	}
	// Page is asked even when the read ends anyway: it counts the pages.
	if h.Page != nil && !h.Page(PageInfo{Number: p.Number, Records: len(p.Records) + len(p.Rejects), Total: p.Total}) {
		s.truncated = true
	}
}

// mark notes where the batch stands before a record (nil without a Record hook).
func (s *syncer) mark(b *batcher) *hookMark {
	if s.o.Hooks == nil || s.o.Hooks.Record == nil {
		return nil
	}
	m := &hookMark{rejects: len(b.rejects)}
	for _, c := range b.children {
		m.kids = append(m.kids, len(c.Rows))
	}
	return m
}

// hookRecord hands a processed record to the Record hook.
func (s *syncer) hookRecord(m *hookMark, rec source.Record, out *transform.Output, b *batcher) {
	if m == nil {
		return
	}
	ev := RecordEvent{Raw: rec.JSON, Outcome: out.Outcome, ID: out.ID,
		Values: append([]any(nil), out.Values...), Reasons: append([]string(nil), out.Reasons...)}
	if out.Outcome == transform.Keep && len(b.children) > 0 {
		ev.Children = make([][]sink.Row, len(b.children))
		for i, c := range b.children {
			if i < len(m.kids) && m.kids[i] <= len(c.Rows) {
				ev.Children[i] = append([]sink.Row(nil), c.Rows[m.kids[i]:]...)
			}
		}
		if m.rejects <= len(b.rejects) {
			ev.ChildRejects = append([]sink.Reject(nil), b.rejects[m.rejects:]...)
		}
	}
	s.o.Hooks.Record(ev)
}

// hookUnreadable hands a record the source could not read to the Record hook.
func (s *syncer) hookUnreadable(rj source.Reject) {
	if h := s.o.Hooks; h != nil && h.Record != nil {
		h.Record(RecordEvent{Raw: rj.Raw, Unreadable: &rj})
	}
}

// hookError hands the sync's error, chain intact, to the Error hook.
func (s *syncer) hookError(err error) {
	if h := s.o.Hooks; h != nil && h.Error != nil && err != nil {
		h.Error(err)
	}
}

// letGo lets a reader waiting in waitProcessed ask for its next page.
func letGo(ctx context.Context, step chan struct{}) {
	if step == nil {
		return
	}
	select {
	case step <- struct{}{}:
	case <-ctx.Done():
	}
}
