package sqlsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// reader reads one entity; each Read opens its own connection and closes
// it before returning, so nothing is left open between syncs.
type reader struct {
	o      *opener
	log    *slog.Logger
	redact func(string) string
	calls  atomic.Int64
}

var (
	_ source.Opener        = (*opener)(nil)
	_ source.Reader        = (*reader)(nil)
	_ source.StatsReporter = (*reader)(nil)
)

// Open checks that the database answers (connect, then close) so that a
// bad DSN fails before the sync starts.
func (o *opener) Open(ctx context.Context, env *source.Env) (source.Reader, error) {
	r := &reader{o: o, log: slog.New(slog.NewTextHandler(io.Discard, nil)), redact: func(s string) string { return s }}
	if env != nil && env.Logger != nil {
		r.log = env.Logger
	}
	if env != nil && env.Redact != nil {
		r.redact = env.Redact
	}
	c, _, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.close()
	return r, nil
}

// Stats counts queries as calls.
func (r *reader) Stats() source.Stats { return source.Stats{APICalls: r.calls.Load()} }

// session is what a connection tells about how to read its times.
type session struct {
	tg  target
	utc bool // mysql: the session zone is UTC, so TIMESTAMP columns are UTC
}

func (r *reader) connect(ctx context.Context) (dbConn, session, error) {
	var (
		c   dbConn
		s   session
		err error
	)
	if r.o.d == mysql {
		c, s.tg, s.utc, err = connectMySQL(ctx, r.o.dsn.Reveal())
	} else {
		c, s.tg, err = connectPostgres(ctx, r.o.dsn.Reveal())
	}
	if err != nil && s.tg.host == "" {
		return nil, s, r.errorf(s.tg, err, "entity %q: reading the %s dsn", r.o.entity, r.o.d.name)
	}
	if err != nil {
		return nil, s, r.errorf(s.tg, err, "entity %q: connecting to %s %s", r.o.entity, r.o.d.name, s.tg)
	}
	return c, s, nil
}

// errorf wraps err under a prefix; the text goes through the pipeline's
// redaction and loses the DSN password, whatever the driver wrote.
func (r *reader) errorf(tg target, err error, format string, args ...any) error {
	prefix := fmt.Sprintf(format, args...)
	msg := err.Error()
	clean := r.redact(stripSecret(msg, r.o.dsn.Reveal(), tg.password))
	cleanPrefix := r.redact(stripSecret(prefix, r.o.dsn.Reveal(), tg.password))
	if clean == msg {
		return fmt.Errorf("%s: %w", cleanPrefix, err)
	}
	return &redactedError{msg: cleanPrefix + ": " + clean, err: err}
}

// redactedError keeps errors.Is on the cause (context.Canceled) while
// printing only the cleaned text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Is(target error) bool {
	return (target == context.Canceled || target == context.DeadlineExceeded) && errors.Is(e.err, target)
}

// Read streams the entity page by page.
func (r *reader) Read(ctx context.Context, st source.ReadState, emit func(source.Page) error) error {
	o := r.o
	c, sess, err := r.connect(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	rn := &run{r: r, c: c, sess: sess, emit: emit, total: -1, built: map[shape]built{}, committed: st.Resume}
	rn.bindState(st)
	if err := rn.bindRange(st); err != nil {
		return err
	}
	if err := rn.loadResume(st.Resume); err != nil {
		return err
	}
	if err := rn.probeTimeType(ctx); err != nil {
		return err
	}
	if o.count {
		if err := rn.countRows(ctx); err != nil {
			return err
		}
	}
	switch {
	case st.Range != nil:
		// One partition of a full read: its range of the key, by key;
		// no catch-up (the runner's watermark is the partitions' newest).
		rn.phases = []phase{phaseKey}
		err = rn.readPhases(ctx)
	case o.stmts.mode == modeStream:
		err = rn.stream(ctx)
	case o.stmts.mode == modeKey:
		rn.phases = []phase{phaseKey}
		err = rn.readPhases(ctx)
	case rn.full():
		// A first or full read goes by key: the index every table has,
		// read in order without a sort, whatever the increment's indexes.
		// Then the catch-up: the streams of an incremental read from
		// where the data stood when the read began.
		if err = rn.startCatchUp(ctx); err != nil {
			return err
		}
		rn.phases = []phase{phaseKey}
		if rn.catchSet {
			rn.phases = append(rn.phases, phaseValue)
		}
		for k := range o.stmts.extra {
			if rn.xs[k].startSet {
				rn.phases = append(rn.phases, phaseExtra+phase(k))
			}
		}
		err = rn.readPhases(ctx)
	default:
		// Incremental: the rows whose increment moved past the
		// watermark, then those with no increment whose fallback moved
		// past its own watermark; each stream is a keyset on plain
		// columns that an index on them serves.
		rn.phases = []phase{phaseValue}
		if rn.start.IsZero() && rn.end.IsZero() {
			for k := range o.stmts.extra {
				rn.phases = append(rn.phases, phaseExtra+phase(k))
			}
		}
		err = rn.readPhases(ctx)
	}
	if err != nil {
		return err
	}
	return rn.finish()
}

// bindState turns the watermark and the window into parameter values.
func (rn *run) bindState(st source.ReadState) {
	o := rn.r.o
	if o.stmts.mode != modeInc {
		return
	}
	switch {
	case !st.WatermarkTime.IsZero():
		rn.wmTime, rn.hasWM = st.WatermarkTime, true
	case st.Watermark != "":
		rn.wmText, rn.hasWM = st.Watermark, true
	}
	rn.start, rn.end = st.Start, st.End
}

// full: no watermark and no window, so every row is read, by key.
func (rn *run) full() bool { return !rn.hasWM && rn.start.IsZero() && rn.end.IsZero() }

func (rn *run) baseShape() shape {
	return shape{wm: rn.hasWM, start: !rn.start.IsZero(), end: !rn.end.IsZero(), lo: rn.rlo != nil, hi: rn.rhi != nil}
}

// phaseShape is the statement shape of a page of a phase.
func (rn *run) phaseShape(ph phase) shape {
	sh := rn.baseShape()
	if ph >= phaseExtra {
		sh = shape{wm: rn.xs[ph-phaseExtra].startSet}
	}
	if rn.catchSet {
		// A full read's catch-up: from the values noted before it.
		sh = shape{wm: ph == phaseValue || sh.wm, strict: rn.r.o.lookback == 0}
	}
	sh.phase, sh.cursor = ph, rn.cur.set
	return sh
}

func (rn *run) pageError(err error, what string) error {
	return rn.r.errorf(rn.sess.tg, err, "entity %q: page %d: %s", rn.r.o.entity, rn.page+1, what)
}

// ctxErr makes a query that failed because the context ended match
// errors.Is(err, context.Canceled), whatever the driver returned.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%v: %w", err, ctx.Err())
	}
	return err
}

// time zone of naive times for this read.
func (rn *run) zone() *time.Location { return rn.r.o.tz }
