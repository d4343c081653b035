// Package runner runs one sync of one entity: it reads pages from the
// entity's source (the next page is fetched while the current one is
// processed), sends every record through the record path, and writes
// batches — rows, rejects and the new checkpoint in one transaction —
// recording the sync in the destination's history.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/telemetry"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/crmsync/crmsync/engine/value"
)

// Options are the command line's choices for a run.
type Options struct {
	Dest   sink.Destination // nil only with DryRun
	Logger *slog.Logger
	// Full ignores the checkpoint (rows are still upserted).
	Full bool
	// Start and End sync a window without moving the checkpoint backwards.
	Start, End time.Time
	// DryRun reads, transforms and validates, and writes nothing at all.
	DryRun         bool
	SkipValidation bool
	Version        string
	// Progress, when set, is called after every page.
	Progress func(Progress)
	// ReadAhead is how many pages may wait while one is processed (default 2).
	ReadAhead int
	// Hooks, when set, watch and bound the sync (see Hooks).
	Hooks *Hooks
	// WrapTransport, when set, wraps the transport of the sync's HTTP
	// requests (see source.Env).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Workers is how many goroutines transform records (0: the
	// CRMSYNC_WORKERS environment variable, else GOMAXPROCS); 1 keeps
	// the record path on the sync's own goroutine.
	Workers int
	// Parallel is how many partitions of a partitioned backfill run at
	// once in this process (default GOMAXPROCS).
	Parallel int
	// Dispatch, when set, hands the partitions of a partitioned backfill
	// to others (serve: one job each) instead of running them here; the
	// sync that planned them then only reports Dispatched.
	Dispatch func(ctx context.Context, plan string, partitions int) error
}

// Progress is a snapshot of a running sync.
type Progress struct {
	Pipeline, Entity string
	Pages            int
	Records          int64
	Total            int // -1 unknown
	Elapsed          time.Duration
}

// Result is the outcome of one sync.
type Result struct {
	sink.Sync
	Err error
	// Elsewhere: another process holds the entity (sink.ErrLocked); this
	// run did nothing. Status is failed, so `run` exits 1; serve skips.
	Elsewhere bool
	// NotChanged: the entity's change probe (changed_when) answered the
	// value stored with its last complete sync, so nothing was read.
	// Status is success with every count 0.
	NotChanged bool
	// Warnings counts the per-record log lines (validation warnings,
	// failed conversions, rejects) by field, children as child.field;
	// after the first few per field only the count is kept.
	Warnings map[string]int64
	// NotPrinted is, of those, how many were counted but not printed.
	NotPrinted map[string]int64
	// RateLimitWait is how long the sync's requests waited for a rate
	// limit (the source's, the entity's, or a server's Retry-After).
	RateLimitWait time.Duration
	// Dispatched: the run planned (or found) a partitioned backfill and
	// handed its partitions to Options.Dispatch; it synced nothing itself.
	Dispatched bool
	// NothingToDo: a partition of a backfill that finished already.
	NothingToDo bool
}

// Sync runs one entity of a plan once. The full read of an entity with
// partitions is a partitioned backfill (see syncPartitioned): its
// partitions run at once, up to Options.Parallel, and the result sums
// theirs.
func Sync(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options) *Result {
	if partitioned(e) {
		if r, ok := syncPartitioned(ctx, plan, e, o); ok {
			return r
		}
	}
	return syncWith(ctx, plan, e, o, nil)
}

func defaultLogger() *slog.Logger { return slog.Default() }

// syncWith runs the entity, or one partition of its backfill.
func syncWith(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options, pt *part) *Result {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if pt != nil {
		log = log.With("partition", pt.name)
	}
	r := &Result{Sync: sink.Sync{Pipeline: plan.Name, Entity: e.Name, PlanHash: plan.Hash, StartedAt: time.Now().UTC(), Status: sink.StatusRunning}}
	s := &syncer{plan: plan, e: e, o: o, r: r, part: pt}
	ctx, span := telemetry.Tracer().Start(ctx, "sync "+plan.Name+"."+e.Name, trace.WithAttributes(
		attribute.String("crmsync.pipeline", plan.Name), attribute.String("crmsync.entity", e.Name)))
	defer func() { endSyncSpan(span, r) }()
	log = log.With(telemetry.LogAttrs(ctx)...)
	runCtx, cancel := context.WithCancelCause(ctx)
	s.cancel = cancel
	err := s.run(runCtx, log)
	cancel(nil)
	if p := s.lost.Load(); p != nil {
		err = *p // the cause; what failed after it follows from it
	}
	s.hookError(err)
	r.FinishedAt = time.Now().UTC()
	r.Duration = r.FinishedAt.Sub(r.StartedAt)
	if secs := r.Duration.Seconds(); secs > 0 {
		r.RecordsPerSecond = float64(r.Processed) / secs
	}
	if r.Processed > 0 {
		r.SuccessRate = float64(r.Created+r.Updated+r.Unchanged) / float64(r.Processed)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		r.Status = sink.StatusInterrupted
	case err != nil:
		r.Status = sink.StatusFailed
	case r.Rejected > 0 || r.Failed > 0 || s.childRejects > 0:
		r.Status = sink.StatusPartial
	default:
		r.Status = sink.StatusSuccess
	}
	if err != nil {
		r.Err = &redactedError{msg: plan.Redact(err.Error()), err: err}
		r.Errors = append(r.Errors, r.Err.Error())
	}
	s.countLines()
	s.finish()
	return r
}

type syncer struct {
	plan *pipeline.Plan
	e    *pipeline.Entity
	o    Options
	r    *Result
	log  *slog.Logger

	procs []namedProc // the sync's record processors, for their line counts
	pool  *pool       // the record workers; nil with one

	cancel func(error) // ends the sync's context, with the cause
	lost   atomic.Pointer[error]
	claim  sink.Claim // nil where the lock cannot be lost
	part   *part      // the partition of a backfill this sync reads, or nil

	stored    sink.Checkpoint // as the run found it
	lastCP    sink.Checkpoint // the last one handed to the writer
	watermark string          // newest incremental value seen in committed rows
	wmTime    time.Time
	wmNum     decimal.Decimal
	hasWM     bool
	pages     int
	truncated bool // max_records stopped the read
	// version is what the change probe answered this run ("" without
	// one): stored with the checkpoint of a complete sync.
	version string
	// childRejects counts rejected elements of child tables (stored as
	// rejects, not counted among the entity's records).
	childRejects int64
	// lookups are the source's lookups, read at the start of the sync;
	// lookupCalls and lookupRetries count their requests.
	lookups                    map[string]any
	lookupCalls, lookupRetries int64
}

func (s *syncer) run(ctx context.Context, base *slog.Logger) error {
	e, plan, o := s.e, s.plan, s.o
	s.log = base.With("pipeline", plan.Name, "entity", e.Name)
	if e.Program == nil || e.Source == nil {
		return fmt.Errorf("entity %q did not compile", e.Name)
	}
	if !o.DryRun {
		unlock, err := s.lock(ctx)
		if err != nil {
			if errors.Is(err, sink.ErrLocked) {
				s.r.Elsewhere = true
				return fmt.Errorf("another crmsync run is syncing %s %s right now; this run did nothing (try again when it finishes)", plan.Name, e.Name)
			}
			return fmt.Errorf("locking %s %s: %w", plan.Name, e.Name, err)
		}
		defer unlock()
		if idle, err := s.begin(ctx); err != nil || idle {
			return err
		}
	}
	s.log = s.log.With("sync_id", s.r.ID)
	st, err := s.readState()
	if err != nil {
		return err
	}
	st = s.windowed(st)
	if s.part != nil {
		var done bool
		if st, done, err = s.partitionState(); err != nil {
			return err
		} else if done {
			return s.finishPartitions(ctx)
		}
	}
	reader, err := s.open(ctx, e.Source)
	if err != nil {
		return fmt.Errorf("opening the source: %w", err)
	}
	if c, ok := reader.(interface{ Close() error }); ok {
		defer c.Close()
	}
	defer func() {
		if sr, ok := reader.(source.StatsReporter); ok {
			st := sr.Stats()
			s.r.APICalls, s.r.Retries = st.APICalls+s.lookupCalls, st.Retries+s.lookupRetries
			s.r.RateLimitWait = st.RateLimitWait
		}
	}()
	if skip, err := s.probeChange(ctx, reader); err != nil || skip {
		return err
	}
	if err := s.readLookups(ctx); err != nil {
		return err
	}
	return s.readAndFinish(ctx, reader, st)
}

// begin does what a sync does under its claim before reading: a
// partition checks that its backfill still runs (idle: it finished, there
// is nothing to do), dead runs' history rows are marked, the tables are
// made or checked, the sync's history row is started and the checkpoint
// read.
func (s *syncer) begin(ctx context.Context) (idle bool, err error) {
	e, plan, o := s.e, s.plan, s.o
	if p := s.part; p != nil {
		// Under the partition's claim: is its plan still the entity's?
		// (A job for a backfill that finished has nothing to do.)
		cur, err := o.Dest.Checkpoint(ctx, plan.Name, sink.PartitionKey(e.Name, planName))
		if err != nil {
			return false, fmt.Errorf("reading the partition plan: %w", err)
		}
		var pp partPlan
		if json.Unmarshal([]byte(cur.Resume), &pp) != nil || pp.ID != p.plan.ID {
			s.r.NothingToDo = true
			s.log.Info(fmt.Sprintf("Partition %s of %s %s: its backfill (plan %s) is finished; nothing to do", p.name, plan.Name, e.Name, p.plan.ID))
			return true, nil
		}
	} else if _, err := o.Dest.MarkInterrupted(ctx, plan.Name, e.Name); err != nil {
		// (Partitions run side by side: the plan's maker marks the rows
		// of dead runs, under the entity's ordinary claim.)
		return false, fmt.Errorf("marking interrupted syncs: %w", err)
	}
	if err := o.Dest.Prepare(ctx, e.Table); err != nil {
		return false, err
	}
	for _, ch := range e.Children {
		if err := o.Dest.Prepare(ctx, ch.Table); err != nil {
			return false, err
		}
	}
	id, err := o.Dest.StartSync(ctx, &s.r.Sync)
	if err != nil {
		return false, fmt.Errorf("recording the sync start: %w", err)
	}
	s.r.ID = id // from here on, finish records the outcome in the history
	if s.stored, err = o.Dest.Checkpoint(ctx, plan.Name, s.stateKey()); err != nil {
		return false, fmt.Errorf("reading the checkpoint: %w", err)
	}
	return false, nil
}

// windowed gives an entity read by time windows outside a partitioned
// backfill (an incremental run) a window all the same: from where the
// read starts to now, for its request's {{ window.start }}/{{ window.end }}.
func (s *syncer) windowed(st source.ReadState) source.ReadState {
	e := s.e
	if !e.Windows || s.part != nil {
		return st
	}
	if st.Start.IsZero() {
		st.Start = st.WatermarkTime
		if st.Start.IsZero() && e.Incremental != nil {
			st.Start, _ = pipeline.ParseWatermarkTime(e.Incremental.Start)
		}
	}
	if st.End.IsZero() {
		st.End = time.Now().UTC()
	}
	return st
}

// partitionState is the read of a partition: a part of a full read, its
// range by key or its time window, from its own position; its stored
// watermark is its own newest. done: an earlier run read it to its end.
func (s *syncer) partitionState() (st source.ReadState, done bool, err error) {
	p, e := s.part, s.e
	p.unwrap(s.stored.Resume)
	if p.done {
		s.log.Info(fmt.Sprintf("Partition %s of %s %s was read to its end by an earlier run", p.name, s.plan.Name, e.Name))
		return st, true, nil
	}
	if s.stored.Resume != "" && p.resume == "" {
		s.stored.Watermark = "" // another plan's
	}
	if !e.Windows {
		return source.ReadState{Resume: p.resume, Range: &p.rng}, false, nil
	}
	// A time window: the request's {{ window.start }} and
	// {{ window.end }}, and {{ watermark }} its start.
	lo, hi, err := p.window()
	if err != nil {
		return st, false, err
	}
	st = source.ReadState{Resume: p.resume, Start: lo, End: hi, WatermarkTime: lo}
	if e.Incremental != nil {
		if st.Watermark, err = source.FormatTime(lo, e.Incremental.Format); err != nil {
			return st, false, err
		}
	}
	return st, false, nil
}

// readAndFinish streams the read into the destination and does what a
// complete read allows: earlier rejects pruned, a replace or
// delete_missing sync's swap or delete (under a live claim), the
// backfill's watermark when this was its last partition.
func (s *syncer) readAndFinish(ctx context.Context, reader source.Reader, st source.ReadState) error {
	e, plan, o := s.e, s.plan, s.o
	fr, full := o.Dest.(sink.FullRefresher)
	fullSync := !o.DryRun && full && s.part == nil && (e.Table.Write == sink.Replace || e.Table.DeleteMissing != "") && s.isFullRead()
	if fullSync {
		// A replace or delete_missing sync must see everything in this
		// run: it never continues from a stored position.
		st.Resume = ""
		if err := fr.BeginFull(ctx, e.Table, s.r.ID, s.fence()); err != nil {
			return err
		}
	}
	fromStart := st.Resume == ""
	err := s.stream(ctx, reader, st)
	if pr, ok := o.Dest.(sink.RejectPruner); ok && s.part == nil && err == nil && !o.DryRun && !s.truncated && fromStart && s.isFullRead() && s.claimLost() == nil {
		// Everything was read: a record still bad was rejected again by
		// this sync, so the rejects of earlier ones are history.
		if perr := pr.PruneRejects(context.WithoutCancel(ctx), plan.Name, e.Name, s.r.ID); perr != nil {
			s.log.Warn("removing earlier rejects failed", "error", perr)
		}
	}
	if fullSync {
		complete := err == nil && !s.truncated
		if complete {
			// replace and delete_missing remove rows: only under a live claim.
			if lerr := s.claimLost(); lerr != nil {
				err, complete = lerr, false
			}
		}
		if ferr := fr.FinishFull(context.WithoutCancel(ctx), e.Table, s.r.ID, complete); ferr != nil && err == nil {
			err = ferr
		}
	}
	if s.part != nil && err == nil && !s.truncated {
		err = s.finishPartitions(ctx)
	}
	return err
}

// probeChange asks the source whether the entity changed since its last
// complete sync; skip reports that it did not, and the sync ends there.
// --full, a window and a read left half way (a stored position) read
// anyway; every run but a window stores the new value when it completes.
func (s *syncer) probeChange(ctx context.Context, reader source.Reader) (skip bool, err error) {
	cp, ok := reader.(source.ChangeProber)
	if !ok || s.window() {
		return false, nil
	}
	v, ok, err := cp.ProbeChange(ctx)
	if err != nil {
		return false, fmt.Errorf("probing for changes: %w", err)
	}
	if !ok {
		return false, nil
	}
	if !s.o.Full && s.stored.Version != "" && s.stored.Resume == "" && v == s.stored.Version {
		s.r.NotChanged = true
		return true, nil
	}
	s.version = v
	return false, nil
}

// stateKey is the name of the sync's checkpoint and claim: the entity's,
// or its partition's.
func (s *syncer) stateKey() string {
	if s.part != nil {
		return sink.PartitionKey(s.e.Name, s.part.name)
	}
	return s.e.Name
}

// window reports whether the run reads a window (--start-date/--end-date).
func (s *syncer) window() bool { return !s.o.Start.IsZero() || !s.o.End.IsZero() }

// inWindow reports whether a row's incremental value lies in the window;
// rows of entities the window cannot apply to are all in it.
func (s *syncer) inWindow(values []any) bool {
	inc := s.e.Incremental
	if inc == nil {
		return true
	}
	t, ok := values[inc.Index].(time.Time)
	if !ok {
		return inc.Type != value.Date && inc.Type != value.Datetime
	}
	return (s.o.Start.IsZero() || !t.Before(s.o.Start)) && (s.o.End.IsZero() || t.Before(s.o.End))
}

// isFullRead: the read covers everything (not incremental, not a window).
func (s *syncer) isFullRead() bool {
	return (s.e.Incremental == nil || s.o.Full) && s.o.Start.IsZero() && s.o.End.IsZero()
}

// readState turns the stored checkpoint into what the source needs.
func (s *syncer) readState() (source.ReadState, error) {
	st := source.ReadState{Start: s.o.Start, End: s.o.End}
	if !s.o.Full {
		st.Resume = s.stored.Resume
	}
	inc := s.e.Incremental
	if s.window() {
		// A window is read from its start, apart from what was read
		// before, and moves no checkpoint (see flush).
		st.Resume = ""
		switch {
		case inc == nil:
			s.log.Warn(fmt.Sprintf("%s %s has no incremental field: --start-date/--end-date cannot select a window of it; it is read in full", s.plan.Name, s.e.Name))
		case inc.Type != value.Date && inc.Type != value.Datetime:
			s.log.Warn(fmt.Sprintf("%s %s: its incremental field %s is not a date or time: the window does not apply; it is read from its checkpoint", s.plan.Name, s.e.Name, inc.Field))
		case !s.o.Start.IsZero():
			st.WatermarkTime = s.o.Start
			var err error
			st.Watermark, err = source.FormatTime(s.o.Start, inc.Format)
			return st, err
		}
	}
	if inc == nil {
		return st, nil
	}
	// --full and a first run read from incremental.start (requests such
	// as HubSpot's search need a value); lookback applies only to a
	// stored watermark.
	wm, lookback := s.stored.Watermark, inc.Lookback
	if s.o.Full || wm == "" {
		wm, lookback = inc.Start, 0
	} else {
		st.Incremental = true // continues from a stored watermark
	}
	if wm == "" {
		return st, nil
	}
	switch inc.Type {
	case value.Date, value.Datetime:
		t, err := pipeline.ParseWatermarkTime(wm)
		if err != nil {
			return st, fmt.Errorf("stored watermark %q is not a time: %w", wm, err)
		}
		t = t.Add(-lookback)
		st.WatermarkTime = t
		if st.Watermark, err = source.FormatTime(t, inc.Format); err != nil {
			return st, err
		}
	default:
		st.Watermark = wm
	}
	return st, nil
}

// observe keeps the newest incremental value among rows about to commit.
func (s *syncer) observe(v any) {
	switch x := v.(type) {
	case time.Time:
		if !s.hasWM || x.After(s.wmTime) {
			s.wmTime, s.hasWM = x, true
			s.watermark = x.UTC().Format(time.RFC3339Nano)
		}
	case int64:
		d := decimal.NewFromInt(x)
		if !s.hasWM || d.GreaterThan(s.wmNum) {
			s.wmNum, s.hasWM, s.watermark = d, true, strconv.FormatInt(x, 10)
		}
	case decimal.Decimal:
		if !s.hasWM || x.GreaterThan(s.wmNum) {
			s.wmNum, s.hasWM, s.watermark = x, true, x.String()
		}
	case float64:
		d := decimal.NewFromFloat(x)
		if !s.hasWM || d.GreaterThan(s.wmNum) {
			s.wmNum, s.hasWM, s.watermark = d, true, d.String()
		}
	case string:
		if !s.hasWM || x > s.watermark {
			s.watermark, s.hasWM = x, true
		}
	}
}

// newWatermark is the watermark to commit: never behind the stored one.
func (s *syncer) newWatermark() string {
	if !s.hasWM {
		return s.stored.Watermark
	}
	old := s.stored.Watermark
	if old == "" {
		return s.watermark
	}
	if s.e.Incremental != nil {
		switch s.e.Incremental.Type {
		case value.Date, value.Datetime:
			ot, err := pipeline.ParseWatermarkTime(old)
			if err == nil && !s.wmTime.After(ot) {
				return old
			}
			return s.watermark
		case value.Integer, value.Decimal, value.Float:
			od, err := decimal.NewFromString(old)
			if err == nil && !s.wmNum.GreaterThan(od) {
				return old
			}
			return s.watermark
		}
	}
	if s.watermark > old {
		return s.watermark
	}
	return old
}

// lock claims the entity. Where the destination's lock can be lost while
// held, the loss cancels the sync and stops its writes.
func (s *syncer) lock(ctx context.Context) (func(), error) {
	if s.part != nil {
		c, err := s.part.pd.LockPartition(ctx, s.plan.Name, s.e.Name, s.part.name, s.loseClaim)
		if err != nil {
			return nil, err
		}
		s.claim = c
		return c.Unlock, nil
	}
	wl, ok := s.o.Dest.(sink.WatchedLocker)
	if !ok {
		return s.o.Dest.Lock(ctx, s.plan.Name, s.e.Name)
	}
	c, err := wl.LockWatched(ctx, s.plan.Name, s.e.Name, s.loseClaim)
	if err != nil {
		return nil, err
	}
	s.claim = c
	return c.Unlock, nil
}

// fence is what this sync's writes are fenced with (zero: unfenced).
func (s *syncer) fence() sink.Fence {
	f := sink.Fence{Pipeline: s.plan.Name, Entity: s.stateKey()}
	if s.claim != nil {
		f.Epoch = s.claim.Epoch()
	}
	return f
}

func (s *syncer) loseClaim(err error) {
	if s.lost.CompareAndSwap(nil, &err) {
		s.log.Error(err.Error())
		s.cancel(err)
	}
}

// claimLost asks the claim (where it can be lost) whether it still holds,
// and returns the error of a lost claim, or nil.
func (s *syncer) claimLost() error {
	if p := s.lost.Load(); p != nil {
		return *p
	}
	if s.claim != nil {
		if err := s.claim.Check(context.Background()); err != nil {
			s.loseClaim(err)
			return err
		}
	}
	return nil
}

// finish records the outcome in the history and logs the blueprint's
// completion line. A run that found the entity claimed elsewhere did
// nothing: it says so quietly (serve skips such ticks; run reports it).
func (s *syncer) finish() {
	r := s.r
	if r.Elsewhere {
		s.log.Info(fmt.Sprintf("Skipped %s %s: another crmsync run is syncing it", r.Pipeline, r.Entity))
		return
	}
	if r.NothingToDo {
		return
	}
	if len(r.Warnings) > 0 {
		r.FieldWarnings = make(map[string]sink.FieldWarning, len(r.Warnings))
		for f, n := range r.Warnings {
			r.FieldWarnings[f] = sink.FieldWarning{Lines: n, NotPrinted: r.NotPrinted[f]}
		}
	}
	if !s.o.DryRun && s.o.Dest != nil && r.ID != 0 {
		if err := s.o.Dest.FinishSync(context.Background(), &r.Sync); err != nil {
			s.log.Error("recording the sync result failed", "error", err)
		}
	}
	counts := []any{"status", r.Status, "created", r.Created, "updated", r.Updated, "unchanged", r.Unchanged, "filtered", r.Filtered,
		"rejected", r.Rejected, "duplicates", r.Duplicates, "duration", r.Duration.Round(time.Millisecond).String(), "records_per_second", int64(r.RecordsPerSecond)}
	if len(r.Warnings) > 0 {
		names := make([]string, 0, len(r.Warnings))
		for f := range r.Warnings {
			names = append(names, f)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, f := range names {
			parts[i] = fmt.Sprintf("%s %d", f, r.Warnings[f])
			if n := r.NotPrinted[f]; n > 0 {
				parts[i] += fmt.Sprintf(" (%d not printed)", n)
			}
		}
		s.log.Warn(fmt.Sprintf("Record warnings in %s %s sync by field: %s", r.Pipeline, r.Entity, strings.Join(parts, ", ")))
	}
	if r.NotChanged && r.Err == nil {
		s.log.Info(fmt.Sprintf("Skipped %s %s: unchanged since its last sync (changed_when)", r.Pipeline, r.Entity), "version", s.plan.Redact(s.stored.Version), "status", r.Status)
		return
	}
	if r.Err != nil {
		// One line, at ERROR: a failed sync is not also "Completed" at INFO.
		s.log.Error(fmt.Sprintf("Sync of %s %s failed: %s", r.Pipeline, r.Entity, strings.TrimSpace(r.Err.Error())), counts...)
		return
	}
	s.log.Info(fmt.Sprintf("Completed %s %s sync: %d created, %d updated, %d failed", r.Pipeline, r.Entity, r.Created, r.Updated, r.Failed+r.Rejected), counts...)
}

// redactedError prints its cause with the plan's secrets redacted and
// keeps the cause for errors.Is and errors.As (sink.ErrClaimLost,
// context.Canceled, a *pgconn.PgError): redaction at the edge, not by
// flattening the chain.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// endSyncSpan records the sync's outcome on its span.
func endSyncSpan(span trace.Span, r *Result) {
	span.SetAttributes(attribute.Int64("crmsync.sync_id", r.ID), attribute.String("crmsync.status", r.Status),
		attribute.Int64("crmsync.processed", r.Processed), attribute.Int64("crmsync.created", r.Created),
		attribute.Int64("crmsync.updated", r.Updated), attribute.Int64("crmsync.unchanged", r.Unchanged),
		attribute.Int64("crmsync.rejected", r.Rejected), attribute.Int64("crmsync.api_calls", r.APICalls))
	if r.Err != nil {
		span.SetStatus(codes.Error, r.Err.Error()) // redacted
	}
	span.End()
}

// usesLookups reports whether the entity's or a child's expressions read
// lookup.
func (s *syncer) usesLookups() bool {
	if s.e.Program.UsesLookups() {
		return true
	}
	for _, ch := range s.e.Children {
		if ch.Transform != nil && ch.Transform.Program.UsesLookups() {
			return true
		}
	}
	return false
}

// readLookups runs the source's lookups once, before the entity's read.
func (s *syncer) readLookups(ctx context.Context) error {
	if len(s.plan.Lookups) == 0 || !s.usesLookups() {
		return nil
	}
	var err error
	s.lookups, s.lookupCalls, s.lookupRetries, err = s.plan.ReadLookups(ctx, s.open, s.log, s.o.Hooks == nil)
	return err
}

// namedProc is a record processor and the prefix of its fields' names
// in the line counts ("" for the entity, "child." for a child table).
type namedProc struct {
	prefix string
	proc   *transform.Processor
}

// countLines gathers the processors' per-record line counts.
func (s *syncer) countLines() {
	for _, np := range s.procs {
		all, extra := np.proc.LineCounts()
		for f, n := range all {
			if s.r.Warnings == nil {
				s.r.Warnings, s.r.NotPrinted = map[string]int64{}, map[string]int64{}
			}
			s.r.Warnings[np.prefix+f] += n
			if x := extra[f]; x > 0 {
				s.r.NotPrinted[np.prefix+f] += x
			}
		}
	}
}
