package runner

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
)

// Several workers transform the records of a page, each with its own
// processor (its own expression VM, environment and buffers), into
// output slots of their own. The sync's goroutine then walks the slots
// in record order and does all that depends on that order (syncer.record)
// exactly as with one worker: window, watermark, duplicates, children,
// rejects and max_reject_rate, hooks, max_records, batch flushes and
// checkpoints. The per-record log lines a worker makes are kept in the
// slot and printed by the sync's own processor in record order
// (transform.Context.DeferLines), so the lines printed and the counts
// are those of one worker.
//
// Work is handed out by chunks of records (one channel send per chunk,
// not per record); a chunk's slots are allocated once per sync.

const (
	maxChunk = 256 // records a worker takes at once
	minChunk = 32  // a small page is split no finer than this
)

// workersEnv overrides the number of workers (default GOMAXPROCS).
const workersEnv = "CRMSYNC_WORKERS"

// maxDefaultWorkers bounds the default: past a few workers the reader
// and the ordered pass, one goroutine each, set the pace, and every
// worker adds chunks of slots to the sync's memory.
const maxDefaultWorkers = 8

// workerCount is the number of record workers of a sync: Options.Workers,
// else CRMSYNC_WORKERS, else GOMAXPROCS (at most maxDefaultWorkers).
func workerCount(o Options) (int, error) {
	if o.Workers > 0 {
		return o.Workers, nil
	}
	if v := strings.TrimSpace(os.Getenv(workersEnv)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s=%q: want a whole number of workers, 1 or more", workersEnv, v)
		}
		return n, nil
	}
	return min(runtime.GOMAXPROCS(0), maxDefaultWorkers), nil
}

// chunk is a run of records of one page and their outputs.
type chunk struct {
	recs   []source.Record
	parent string
	outs   []transform.Output // maxChunk slots, Values pre-allocated
	kids   []elements         // per slot, with child tables
	done   chan struct{}      // one value when the chunk is transformed
}

// elements are a kept record's child elements, per child table, read by
// the worker that processed the record: a child's from expression reads
// the environment the record left in that worker's processor.
type elements struct {
	recs [][]source.Record
	errs []error
}

type pool struct {
	n    int
	work chan *chunk
	ring []*chunk // chunks in flight at most: 2 per worker

	deepest int // the most pages pipeline held at once (logged at the end)
}

// newPool starts n workers, each with a processor from newProc; kids are
// the entity's child tables.
func newPool(n, ncol int, kids []*transform.Child, newProc func() *transform.Processor) *pool {
	p := &pool{n: n, work: make(chan *chunk, 2*n), ring: make([]*chunk, 2*n)}
	for i := range p.ring {
		c := &chunk{outs: make([]transform.Output, maxChunk), done: make(chan struct{}, 1)}
		slab := make([]any, maxChunk*ncol)
		for k := range c.outs {
			c.outs[k].Values = slab[k*ncol : (k+1)*ncol : (k+1)*ncol]
		}
		if len(kids) > 0 {
			c.kids = make([]elements, maxChunk)
			for k := range c.kids {
				c.kids[k] = elements{recs: make([][]source.Record, len(kids)), errs: make([]error, len(kids))}
			}
		}
		p.ring[i] = c
	}
	for i := 0; i < n; i++ {
		proc := newProc()
		go func() {
			for c := range p.work {
				proc.SetParent(c.parent)
				for k, rec := range c.recs {
					out := &c.outs[k]
					proc.Process(rec, out)
					if c.kids == nil || out.Outcome != transform.Keep {
						continue
					}
					el := &c.kids[k]
					for j, ch := range kids {
						el.recs[j], el.errs[j] = proc.Elements(ch, rec, el.recs[j])
					}
				}
				c.done <- struct{}{}
			}
		}()
	}
	return p
}

// close ends the workers; no chunk may be in flight.
func (p *pool) close() { close(p.work) }

// chunkSize spreads n records over the workers, in chunks of minChunk
// to maxChunk records.
func chunkSize(n, workers int) int {
	size := (n + workers - 1) / workers
	return min(max(size, minChunk), maxChunk)
}

// records transforms one page's records on the workers and passes each,
// in order, to s.record; the page ends with its last record. It is the
// path under max_records, which must know how many records came before
// a page to cut it (see pipeline for the rest). The page's unreadable
// records were counted already. On an error every chunk handed out is
// waited for, so the next page finds the slots free.
func (p *pool) records(ctx context.Context, s *syncer, proc *transform.Processor, page source.Page, b *batcher) error {
	recs := page.Records
	cut := false
	if m := s.maxRecords(); m > 0 {
		// Records past max_records are not transformed at all.
		left := max(m-s.r.Processed, 0)
		if int64(len(recs)) > left {
			recs, cut = recs[:left], true
		}
	}
	if len(recs) == 0 {
		s.truncated = s.truncated || cut
		return nil
	}
	size := chunkSize(len(recs), p.n)
	nch := (len(recs) + size - 1) / size
	next := 0
	for ci := 0; ci < nch; ci++ {
		for ; next < nch && next-ci < len(p.ring); next++ {
			c := p.ring[next%len(p.ring)]
			c.recs, c.parent = recs[next*size:min((next+1)*size, len(recs))], page.Parent
			p.work <- c
		}
		c := p.ring[ci%len(p.ring)]
		<-c.done
		if err := p.pass(ctx, s, proc, page, c, b); err != nil {
			for j := ci + 1; j < next; j++ {
				<-p.ring[j%len(p.ring)].done
			}
			return err
		}
	}
	if cut {
		s.truncated = true
	}
	return nil
}

// pass hands a transformed chunk's records, in order, to s.record.
func (p *pool) pass(ctx context.Context, s *syncer, proc *transform.Processor, page source.Page, c *chunk, b *batcher) error {
	ncol := len(s.e.Table.Columns)
	for k := range c.recs {
		s.r.Processed++
		i := len(b.rows)
		out := &b.out
		*out = c.outs[k]
		out.Values = b.slot(i, ncol, s.e.BatchSize)
		copy(out.Values, c.outs[k].Values)
		clear(c.outs[k].Values) // the batch holds them now; the slot must not pin the page
		proc.Replay(out)
		var kids *elements
		if c.kids != nil {
			kids = &c.kids[k]
		}
		if err := s.record(ctx, proc, page, c.recs[k], out, b, kids); err != nil {
			return err
		}
	}
	c.recs = nil
	return nil
}

// flowing is a page in the pipeline: its chunks handed out (sent) and
// passed in order (taken).
type flowing struct {
	page        source.Page
	size, nch   int
	sent, taken int
	begun       bool
}

// pipeline runs pages through the workers without draining them at a
// page's end: while the ordered pass goes through the last chunks of a
// page, the workers already transform the next page's first ones (the
// reader has read it ahead), so no core waits at a page boundary.
//
// Chunks are handed out in page and record order from the ring, and the
// ordered pass takes them back in that order, so s.record sees exactly
// the sequence one worker sees: a page's unreadable records (start)
// before its first record, its end (end: its Resume, the batch's flush)
// after its last, and a checkpoint only after every record before it
// was passed. Memory stays bounded: a page is taken from the reader only
// when the ring has a free chunk and every page before it is handed out
// whole, so at most len(ring)+1 pages are held here.
//
// end returning false stops the read: pipeline waits for the chunks in
// flight and returns true. On an error too, every chunk in flight is
// waited for first.
func (p *pool) pipeline(ctx context.Context, s *syncer, proc *transform.Processor, pages <-chan source.Page, b *batcher,
	start func(source.Page) error, end func(source.Page) (bool, error)) (bool, error) {
	var queue []*flowing  // in order; all but the last handed out whole
	issued, taken := 0, 0 // chunks handed out and taken back, since the start
	open := true
	drain := func() {
		for ; taken < issued; taken++ {
			<-p.ring[taken%len(p.ring)].done
		}
	}
	add := func(page source.Page) {
		f := &flowing{page: page}
		if n := len(page.Records); n > 0 {
			f.size = chunkSize(n, p.n)
			f.nch = (n + f.size - 1) / f.size
		}
		queue = append(queue, f)
		p.deepest = max(p.deepest, len(queue))
	}
	for {
		// Hand out the last page's chunks while the ring has room.
		if n := len(queue); n > 0 {
			for f := queue[n-1]; f.sent < f.nch && issued-taken < len(p.ring); f.sent, issued = f.sent+1, issued+1 {
				c := p.ring[issued%len(p.ring)]
				c.recs, c.parent = f.page.Records[f.sent*f.size:min((f.sent+1)*f.size, len(f.page.Records))], f.page.Parent
				p.work <- c
			}
		}
		if len(queue) == 0 {
			if !open {
				return false, nil
			}
			page, ok := <-pages
			if !ok {
				return false, nil
			}
			add(page)
			continue
		}
		h := queue[0]
		if !h.begun {
			h.begun = true
			if err := start(h.page); err != nil {
				drain()
				return false, err
			}
		}
		if h.taken == h.nch {
			queue[0] = nil
			queue = queue[1:]
			goOn, err := end(h.page)
			if err != nil || !goOn {
				drain()
				return !goOn, err
			}
			continue
		}
		c := p.ring[taken%len(p.ring)]
		if last := queue[len(queue)-1]; open && last.sent == last.nch && issued-taken < len(p.ring) {
			// A free chunk and nothing left to hand out: take the next
			// page as soon as the reader has it, or this chunk back.
			select {
			case <-c.done:
			case page, ok := <-pages:
				if !ok {
					open = false
				} else {
					add(page)
				}
				continue
			}
		} else {
			<-c.done
		}
		taken++
		h.taken++
		if err := p.pass(ctx, s, proc, h.page, c, b); err != nil {
			drain()
			return false, err
		}
	}
}
