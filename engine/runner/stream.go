package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/value"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
)

// rejectWindow is how many recent records max_reject_rate looks at.
const rejectWindow = 1000

// batcher accumulates processed rows until they are written.
// maxBatchBytes bounds a batch by the size of its records as read, beside
// batch_size. Two batches are in memory at once (one being written, one
// being filled) and a record costs several times its source bytes once
// converted (the page it came from, boxed values, the encoded COPY rows),
// so 2 MiB keeps a whole process under 100 MiB at any batch_size and
// record width (measured: 95 MiB at batch_size 50,000, 79 MiB at 5,000,
// 300k 330-byte contacts into PostgreSQL), while a batch still holds
// thousands of ordinary records.
const maxBatchBytes = 2 << 20

// slabStartRows is how many rows' values a batch holds before its slab
// grows (doubling, up to batch_size rows): a batch that maxBatchBytes
// cuts short never pays for batch_size rows.
const slabStartRows = 1024

type batcher struct {
	slab    []any
	rows    []sink.Row
	rejects []sink.Reject
	resume  string // Resume of the last page fully in this batch
	out     transform.Output
	recent  []bool // ring of recent outcomes: true = rejected
	next    int
	nrej    int

	// keys maps the primary key of each row in the batch to its index
	// (keyed tables only), so that a repeated key folds into its first row.
	keys       map[uint64]int
	collided   map[string]int
	keyIdx     []int // the key columns
	kbuf, kcmp []byte

	// bytes is the source size of the records kept in the batch: a batch
	// is committed at maxBatchBytes too, whatever batch_size says, so
	// wide records (notes, _raw) keep memory bounded.
	bytes int

	children []sink.ChildRows // one per child table of the entity
	kids     []childState
	w        *writer // nil on a dry run
}

// childState is the record path of one child table.
type childState struct {
	proc  *transform.Processor
	out   transform.Output
	elems []source.Record
}

// stream reads pages on a goroutine (bounded read-ahead: the next pages
// are fetched while this one is processed and written) and processes them.
func (s *syncer) stream(parent context.Context, reader source.Reader, st source.ReadState) error {
	workers, err := workerCount(s.o)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	ahead := s.o.ReadAhead
	if ahead <= 0 {
		ahead = 2
	}
	pages := make(chan source.Page, ahead)
	errc := make(chan error, 1)
	step := s.lockstep()
	go func() {
		defer close(pages)
		errc <- s.read(ctx, reader, st, func(p source.Page) error {
			select {
			case pages <- p:
				return waitProcessed(ctx, step)
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	b := &batcher{}
	ncol := len(s.e.Table.Columns)
	b.slab = make([]any, min(s.e.BatchSize, slabStartRows)*ncol)
	s.lastCP = s.stored
	if !s.o.DryRun {
		// Writes go on while the next batch is processed; a failure to
		// process stops the reader but lets submitted batches commit.
		b.w = newWriter(s, sink.WithLogger(context.WithoutCancel(parent), s.log), len(b.slab))
	}
	finish := func(err error) error {
		if b.w != nil {
			if werr := b.w.close(); werr != nil && err == nil {
				err = werr
			}
		}
		return err
	}
	b.out.Values = make([]any, ncol)
	if t := s.e.Table; len(t.PrimaryKey) > 0 && t.Write != sink.Append {
		b.keys = map[uint64]int{}
		for _, k := range t.PrimaryKey {
			for j, c := range t.Columns {
				if c.Name == k {
					b.keyIdx = append(b.keyIdx, j)
				}
			}
		}
	}
	b.resume = st.Resume
	tctx := transform.Context{SyncStarted: s.r.StartedAt, Logger: s.log, SkipValidation: s.o.SkipValidation, Redact: s.plan.Redact, Lookups: s.lookups}
	proc := s.e.Program.NewProcessor(tctx)
	s.procs = append(s.procs, namedProc{proc: proc})
	if workers > 1 {
		wctx := tctx
		wctx.DeferLines = true
		var kids []*transform.Child
		for _, ch := range s.e.Children {
			kids = append(kids, ch.Transform)
		}
		s.pool = newPool(workers, ncol, kids, func() *transform.Processor { return s.e.Program.NewProcessor(wctx) })
		defer func() {
			s.log.Debug(fmt.Sprintf("%s %s: at most %d pages in the record workers at once", s.plan.Name, s.e.Name, s.pool.deepest), "pages", s.pool.deepest)
			s.pool.close()
			s.pool = nil
		}()
	}
	s.log.Debug(fmt.Sprintf("%s %s: %d record workers", s.plan.Name, s.e.Name, workers), "workers", workers)
	for _, ch := range s.e.Children {
		b.children = append(b.children, sink.ChildRows{Table: ch.Table})
		cs := childState{proc: ch.Transform.Program.NewProcessor(tctx)}
		s.procs = append(s.procs, namedProc{prefix: ch.Name + ".", proc: cs.proc})
		cs.out.Values = make([]any, len(ch.Transform.Program.Fields()))
		b.kids = append(b.kids, cs)
	}
	fail := func(err error) error {
		cancel()
		for range pages {
		}
		<-errc
		return finish(err)
	}
	started := false
	start := func(page source.Page) error { // before the page's first record
		if !started {
			s.logStart(page.Total)
			started = true
		}
		return s.pageStart(ctx, proc, page, b)
	}
	end := func(page source.Page) (bool, error) { // after its last; false ends the read
		if err := s.pageEnd(ctx, page, b); err != nil {
			return false, err
		}
		if s.o.Progress != nil {
			s.pages++
			s.o.Progress(Progress{Pipeline: s.plan.Name, Entity: s.e.Name, Pages: s.pages, Records: s.r.Processed, Total: page.Total})
		}
		s.afterPage(page)
		if s.truncated {
			return false, nil
		}
		letGo(ctx, step)
		return true, nil
	}
	var stopped bool
	if s.pool != nil && s.maxRecords() == 0 {
		// Pages flow through the workers one after the other (workers.go).
		stopped, err = s.pool.pipeline(ctx, s, proc, pages, b, start, end)
	} else {
		stopped, err = s.pageByPage(ctx, proc, pages, b, start, end)
	}
	if err != nil {
		return fail(err)
	}
	if stopped {
		cancel()
		for range pages {
		}
		<-errc
		if s.e.Incremental != nil && !s.sorted() && b.resume == "" {
			s.log.Warn(fmt.Sprintf("max_records stopped %s %s before the end of its read; without incremental.sorted (and with no source position) the watermark cannot move, so the next run starts from the same place", s.plan.Name, s.e.Name))
		}
		return finish(s.flush(context.WithoutCancel(ctx), b, true))
	}
	if !started {
		s.logStart(-1)
	}
	if err := <-errc; err != nil {
		// The pages before the failure were read whole: commit their rows
		// (and their position) so that only the failed part is read again.
		if ctx.Err() == nil {
			if ferr := s.flush(ctx, b, false); ferr != nil {
				return finish(errors.Join(err, ferr))
			}
		}
		return finish(err)
	}
	return finish(s.flush(ctx, b, true))
}

// logStart writes the blueprint's start line once the first page says
// how many records the source holds (when it says).
func (s *syncer) logStart(total int) {
	if total >= 0 {
		s.log.Info(fmt.Sprintf("Starting %s %s sync with %d records", s.plan.Name, s.e.Name, total))
		return
	}
	s.log.Info(fmt.Sprintf("Starting %s %s sync", s.plan.Name, s.e.Name))
}

// read reads the entity, or — for a substream — the entity once per
// record of its parent.
func (s *syncer) read(ctx context.Context, reader source.Reader, st source.ReadState, emit func(source.Page) error) error {
	if s.e.Parent == "" {
		return reader.Read(ctx, st, emit)
	}
	parent := s.plan.Entity(s.e.Parent)
	if parent == nil || parent.Source == nil {
		return fmt.Errorf("parent entity %q is not available", s.e.Parent)
	}
	pr, err := s.open(ctx, parent.Source)
	if err != nil {
		return fmt.Errorf("opening the parent entity %q: %w", s.e.Parent, err)
	}
	if c, ok := pr.(interface{ Close() error }); ok {
		defer c.Close()
	}
	st.Resume = "" // a position inside one parent's pages means nothing for the next
	number := 0
	// The parents are read in full, within the run's window; a parent
	// whose requests need {{ watermark }} gets its incremental.start.
	pst := source.ReadState{Start: st.Start, End: st.End}
	if inc := parent.Incremental; inc != nil && inc.Start != "" {
		if t, err := pipeline.ParseWatermarkTime(inc.Start); err == nil && (inc.Type == value.Date || inc.Type == value.Datetime) {
			pst.WatermarkTime = t
			pst.Watermark, _ = source.FormatTime(t, inc.Format)
		} else {
			pst.Watermark = inc.Start
		}
	}
	readFor := func(parentJSON string) error {
		cst := st
		cst.Parent = parentJSON
		err := reader.Read(ctx, cst, func(p source.Page) error {
			number++
			p.Number, p.Resume, p.Parent = number, "", parentJSON
			return emit(p)
		})
		if err != nil {
			return fmt.Errorf("parent records of %q: %w", s.e.Parent, err)
		}
		return nil
	}
	batch := 1
	if pc := s.e.Config.Parent; pc != nil && pc.Batch > 1 {
		batch = pc.Batch
	}
	var group []string // parents waiting for a batched read
	flushGroup := func() error {
		if len(group) == 0 {
			return nil
		}
		arr := "[" + strings.Join(group, ",") + "]"
		group = group[:0]
		return readFor(arr)
	}
	err = pr.Read(ctx, pst, func(pp source.Page) error {
		for _, rec := range pp.Records {
			if batch == 1 {
				if err := readFor(rec.JSON); err != nil {
					return err
				}
				continue
			}
			if group = append(group, rec.JSON); len(group) == batch {
				if err := flushGroup(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flushGroup()
}

// pageByPage processes the pages one at a time (one worker, or several
// under max_records); start and end as for pool.pipeline.
func (s *syncer) pageByPage(ctx context.Context, proc *transform.Processor, pages <-chan source.Page, b *batcher,
	start func(source.Page) error, end func(source.Page) (bool, error)) (bool, error) {
	for page := range pages {
		if err := start(page); err != nil {
			return false, err
		}
		if err := s.pageRecords(ctx, proc, page, b); err != nil {
			return false, err
		}
		goOn, err := end(page)
		if err != nil || !goOn {
			return !goOn, err
		}
	}
	return false, nil
}

// pageStart begins a page: its parent, and the records the source could
// not read, which come before the page's records.
func (s *syncer) pageStart(_ context.Context, proc *transform.Processor, page source.Page, b *batcher) error {
	proc.SetParent(page.Parent)
	for _, rj := range page.Rejects {
		s.r.Processed++
		s.r.Rejected++
		// The source's reason already names the file and line.
		b.rejects = append(b.rejects, s.reject(fmt.Sprintf("%s:%d", rj.File, rj.Row), []string{rj.Reason}, rj.Raw))
		s.hookUnreadable(rj)
		if err := s.countReject(b, true); err != nil {
			return err
		}
	}
	return nil
}

// pageRecords processes a page's records, on one goroutine or (under
// max_records) on the workers, page by page.
func (s *syncer) pageRecords(ctx context.Context, proc *transform.Processor, page source.Page, b *batcher) error {
	if s.pool != nil {
		// Several workers transform the records; what depends on their
		// order runs here, in order (see workers.go).
		return s.pool.records(ctx, s, proc, page, b)
	}
	ncol := len(s.e.Table.Columns)
	for _, rec := range page.Records {
		if m := s.maxRecords(); m > 0 && s.r.Processed >= m {
			s.truncated = true
			break
		}
		s.r.Processed++
		out := &b.out
		i := len(b.rows)
		out.Values = b.slot(i, ncol, s.e.BatchSize)
		proc.Process(rec, out)
		if err := s.record(ctx, proc, page, rec, out, b, nil); err != nil {
			return err
		}
	}
	return nil
}

// pageEnd ends a page: its position is the batch's, and a full batch is
// written.
func (s *syncer) pageEnd(ctx context.Context, page source.Page, b *batcher) error {
	// Only a page read to its end moves the source position: a page that
	// max_records cut short is read again from its start next time.
	if !s.truncated {
		b.resume = page.Resume
	}
	if len(b.rows)+len(b.rejects) >= s.e.BatchSize {
		return s.flush(ctx, b, false)
	}
	return nil
}

// record does, for one transformed record, everything that depends on
// the order of records: the window, the watermark, duplicate folding,
// children, rejects and their rate, the hooks and the batch's flush. out
// holds the record's values in the batch's next slab slot.
//
// kids, when not nil, are the record's child elements as a worker read
// them (see workers.go); nil reads them here.
func (s *syncer) record(ctx context.Context, proc *transform.Processor, page source.Page, rec source.Record, out *transform.Output, b *batcher, kids *elements) error {
	e := s.e
	ncol := len(e.Table.Columns)
	i := len(b.rows)
	s.r.ValidationErrors += int64(out.ValidationErrors)
	s.r.ProcessingErrors += int64(out.ProcessingErrors)
	if out.Outcome == transform.Keep && s.window() && !s.inWindow(out.Values) {
		out.Outcome = transform.Filtered // outside --start-date/--end-date
	}
	raw := ""
	if out.Outcome == transform.Keep && e.Table.KeepRaw {
		raw = s.rawOf(proc, rec, out)
	}
	mark := s.mark(b)
	switch out.Outcome {
	case transform.Keep:
		if e.Incremental != nil {
			s.observe(out.Values[e.Incremental.Index])
		}
		vals, dup := b.fold(s, i, ncol, raw)
		if dup {
			// A key seen before in this batch: the last one wins, in
			// the first one's place, and counts as a duplicate.
			s.r.Duplicates++
		} else {
			vals = out.Values
			b.rows = append(b.rows, sink.Row{Values: vals, Raw: raw})
		}
		b.bytes += len(rec.JSON) + len(raw)
		if len(e.Children) > 0 {
			if err := s.children(proc, rec, vals, b, kids); err != nil {
				return fmt.Errorf("page %d: record %s: %w", page.Number, out.ID, err)
			}
		}
	case transform.Filtered:
		s.r.Filtered++
	case transform.Rejected:
		s.r.Rejected++
		b.rejects = append(b.rejects, s.recordReject(rec, out.ID, out.Reasons))
	case transform.Failed:
		s.r.Failed++
		s.hookRecord(mark, rec, out, b)
		return fmt.Errorf("page %d: %w", page.Number, out.Err)
	}
	s.hookRecord(mark, rec, out, b)
	if err := s.countReject(b, out.Outcome == transform.Rejected); err != nil {
		return err
	}
	if len(b.rows) == e.BatchSize || b.bytes >= maxBatchBytes {
		// A batch inside a page: commit it with the previous page's
		// position, so a crash re-reads this page from its start.
		return s.flush(ctx, b, false)
	}
	return nil
}

// countReject keeps the rejected share of the recent records under max_reject_rate.
func (s *syncer) countReject(b *batcher, rejected bool) error {
	rate := s.e.MaxRejectRate
	if rate <= 0 {
		return nil
	}
	if len(b.recent) < rejectWindow {
		b.recent = append(b.recent, rejected)
	} else {
		if b.recent[b.next] {
			b.nrej--
		}
		b.recent[b.next] = rejected
		b.next = (b.next + 1) % rejectWindow
	}
	if rejected {
		b.nrej++
	}
	if n := len(b.recent); n >= 100 && float64(b.nrej)/float64(n) > rate {
		return fmt.Errorf("%d of the last %d records were rejected, more than max_reject_rate %.0f%%: stopping rather than loading bad data (see crmsync rejects)", b.nrej, n, rate*100)
	}
	return nil
}

// flush hands the batch and its checkpoint to the writer. final marks the
// last write of a sync that read everything it meant to.
func (s *syncer) flush(ctx context.Context, b *batcher, final bool) error {
	cp := &sink.Checkpoint{Resume: b.resume, Watermark: s.stored.Watermark, Version: s.stored.Version}
	if s.sorted() || (final && !s.truncated) || s.part != nil {
		// A partition's watermark is its own: the entity's moves when
		// every partition committed (finishPartitions).
		cp.Watermark = s.newWatermark()
	}
	if final && !s.truncated && s.version != "" {
		// Only a sync that read everything stores the probe's value:
		// one that failed half way probes and reads again next time.
		cp.Version = s.version
	}
	if s.part != nil {
		cp.Resume = s.part.wrap(b.resume, final && !s.truncated)
	}
	if (s.e.Parent != "" && !final) || s.window() {
		// A substream commits its watermark once, at the end; a window
		// never moves the checkpoint (the rows between the old watermark
		// and the window's start would never be read).
		cp = nil
	}
	if len(b.rows) == 0 && len(b.rejects) == 0 && (cp == nil || *cp == (sink.Checkpoint{Resume: s.lastCP.Resume, Watermark: s.lastCP.Watermark, Version: s.lastCP.Version})) {
		return nil
	}
	if s.o.DryRun {
		b.rows, b.rejects, b.bytes = b.rows[:0], b.rejects[:0], 0
		clear(b.keys)
		clear(b.collided)
		for i := range b.children {
			b.children[i].Parents, b.children[i].Rows = nil, nil
		}
		return nil
	}
	if err := b.w.failed(); err != nil {
		return err
	}
	batch := &sink.Batch{SyncID: s.r.ID, Pipeline: s.plan.Name, Entity: s.e.Name, Table: s.e.Table,
		Rows: b.rows, Rejects: b.rejects, Checkpoint: cp, Epoch: s.fence().Epoch,
		Progress: &sink.Progress{Processed: s.r.Processed, Filtered: s.r.Filtered, Rejected: s.r.Rejected, Failed: s.r.Failed, Duplicates: s.r.Duplicates}}
	if s.part != nil {
		batch.Partition = s.part.name
		batch.Overlapping = s.e.Windows
	}
	batch.Children = append(batch.Children, b.children...)
	if cp != nil {
		s.lastCP = *cp
	}
	// The writer owns the batch's slices now; this side starts afresh.
	b.slab = b.w.submit(batch, b.slab)
	b.rows, b.rejects, b.bytes = make([]sink.Row, 0, len(b.rows)), nil, 0
	clear(b.keys)
	clear(b.collided)
	for i := range b.children {
		b.children[i].Parents, b.children[i].Rows = nil, nil
	}
	return nil
}

// children makes the child rows of one kept parent record. Every parent
// is listed, even with no children, so children gone from the source are
// deleted.
//
// kids, when not nil, holds the child elements a worker read after
// processing the record (a from expression reads the environment the
// record left in its processor).
func (s *syncer) children(proc *transform.Processor, rec source.Record, parentVals []any, b *batcher, kids *elements) error {
	for i, ch := range s.e.Children {
		cs := &b.kids[i]
		key := make([]any, len(ch.ParentIdx))
		for j, idx := range ch.ParentIdx {
			key[j] = parentVals[idx]
		}
		cr := &b.children[i]
		cr.Parents = append(cr.Parents, key)
		var err error
		elems := cs.elems
		if kids != nil {
			elems, err = kids.recs[i], kids.errs[i]
		} else {
			elems, err = proc.Elements(ch.Transform, rec, cs.elems)
			cs.elems = elems
		}
		if err != nil {
			return err
		}
		if len(elems) == 0 {
			continue
		}
		cs.proc.SetVar("parent", proc.ParentVars(s.e.Program.Fields(), parentVals))
		for n, el := range elems {
			cs.proc.Process(el, &cs.out)
			s.r.ValidationErrors += int64(cs.out.ValidationErrors)
			s.r.ProcessingErrors += int64(cs.out.ProcessingErrors)
			switch cs.out.Outcome {
			case transform.Filtered:
				continue
			case transform.Rejected:
				// A child element is not a record of the entity: its
				// reject is stored and makes the sync partial, but
				// processed and rejected count the entity's records.
				s.childRejects++
				b.rejects = append(b.rejects, s.recordReject(source.Record{JSON: el.JSON, File: rec.File, Row: rec.Row}, fmt.Sprintf("%v/%s/%d", key, ch.Name, n), cs.out.Reasons))
				continue
			case transform.Failed:
				return cs.out.Err
			}
			vals := make([]any, 0, len(ch.Table.Columns))
			vals = append(vals, key...)
			if ch.Index {
				vals = append(vals, int64(n))
			}
			vals = append(vals, cs.out.Values...)
			cr.Rows = append(cr.Rows, sink.Row{Values: vals})
		}
	}
	return nil
}

// reject makes a rejects row. It copies the reasons (the processor reuses
// its slice) and removes the pipeline's secrets from them and from the
// raw record: rejects are read by people, and a record may hold a token.
func (s *syncer) reject(id string, reasons []string, raw string) sink.Reject {
	rs := make([]string, len(reasons))
	for i, r := range reasons {
		rs[i] = s.plan.Redact(r)
	}
	return sink.Reject{RecordID: s.plan.Redact(id), Reasons: rs, Raw: s.plan.Redact(raw)}
}

// sorted: the source returns records oldest first (incremental.sorted),
// so the watermark may follow every committed batch.
func (s *syncer) sorted() bool {
	return s.e.Incremental != nil && s.e.Config.Incremental != nil && s.e.Config.Incremental.Sorted
}

// slot returns the values of the batch's row i, growing the slab when the
// batch outgrows it. Row k's values are slab slot k (a duplicate folds
// into its first row and leaves its slot for the next record), so the
// rows are pointed at the grown slab, which holds a copy of their values.
func (b *batcher) slot(i, ncol, maxRows int) []any {
	if need := (i + 1) * ncol; need > len(b.slab) {
		// A quarter more each time, not double: a batch that stops at
		// maxBatchBytes should not carry a slab half empty.
		rows := max(len(b.slab)/ncol*5/4, i+1, slabStartRows)
		grown := make([]any, min(rows, max(maxRows, i+1))*ncol)
		copy(grown, b.slab)
		for k := range b.rows {
			b.rows[k].Values = grown[k*ncol : (k+1)*ncol : (k+1)*ncol]
		}
		b.slab = grown
	}
	return b.slab[i*ncol : (i+1)*ncol : (i+1)*ncol]
}
