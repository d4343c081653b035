package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/telemetry"
)

// writer commits batches on its own goroutine, in order, so that the
// next batch is processed while the destination writes this one. Each
// batch is still one transaction with its checkpoint; only one is in
// flight at a time, and two value slabs take turns.
type writer struct {
	s     *syncer
	ctx   context.Context
	jobs  chan job
	ready chan job   // jobs prepared (sink.Preparer), or jobs itself
	free  chan []any // slabs the destination is done with
	done  chan struct{}

	mu  sync.Mutex
	err error
}

type job struct {
	batch *sink.Batch
	slab  []any
}

func newWriter(s *syncer, ctx context.Context, slabSize int) *writer {
	w := &writer{s: s, ctx: ctx, jobs: make(chan job, 1), free: make(chan []any, 2), done: make(chan struct{})}
	w.free <- make([]any, slabSize)
	w.ready = w.jobs
	if p, ok := s.o.Dest.(sink.Preparer); ok {
		// The next batch is encoded while this one is being written.
		w.ready = make(chan job, 1)
		go w.prepare(p)
	}
	go w.loop()
	return w
}

// prepare does the destination's client-side work on each batch ahead of
// its write.
func (w *writer) prepare(p sink.Preparer) {
	defer close(w.ready)
	for j := range w.jobs {
		if w.failed() == nil {
			p.PrepareWrite(w.ctx, j.batch)
		}
		w.ready <- j
	}
}

func (w *writer) loop() {
	defer close(w.done)
	for j := range w.ready {
		if w.failed() == nil {
			w.write(j.batch)
		}
		clear(j.slab)
		w.free <- j.slab
	}
}

func (w *writer) write(b *sink.Batch) {
	// A sync whose claim is gone writes nothing more: another run may
	// own the entity now.
	if lost := w.s.claimLost(); lost != nil {
		w.mu.Lock()
		w.err = lost
		w.mu.Unlock()
		return
	}
	ctx, span := telemetry.Tracer().Start(w.ctx, "batch commit", trace.WithAttributes(
		attribute.String("crmsync.table", b.Table.Name), attribute.Int("crmsync.rows", len(b.Rows)), attribute.Int("crmsync.rejects", len(b.Rejects))))
	res, err := w.s.o.Dest.Write(ctx, b)
	if err != nil {
		span.SetStatus(codes.Error, w.s.plan.Redact(err.Error()))
	}
	span.End()
	if errors.Is(err, sink.ErrClaimLost) {
		w.s.loseClaim(err) // stop reading too: nothing more can commit
	}
	if err != nil {
		w.mu.Lock()
		w.err = fmt.Errorf("writing a batch of %d rows to %s: %w", len(b.Rows), b.Table.Name, err)
		w.mu.Unlock()
		return
	}
	r := w.s.r // read by Sync only after close
	r.Created += int64(res.Created)
	r.Updated += int64(res.Updated)
	r.Unchanged += int64(res.Unchanged)
}

// failed returns the first write error, if any.
func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// submit hands a batch over and returns a slab for the next one; it
// waits while both slabs are in use.
func (w *writer) submit(b *sink.Batch, slab []any) []any {
	w.jobs <- job{b, slab}
	return <-w.free
}

// close waits for every submitted batch and returns the first error.
func (w *writer) close() error {
	close(w.jobs)
	<-w.done
	return w.failed()
}
