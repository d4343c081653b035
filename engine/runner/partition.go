package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/value"
)

// A partitioned backfill splits a full read of an entity (partitions: N
// or partition_rows: K) into ranges of its primary key, read at once.
// Its state, in the destination's checkpoints:
//
//   - entity#plan: Resume holds the plan ({"id":…,"ranges":[…]}), made
//     once under the entity's ordinary claim and kept until every
//     partition committed, so a run after a crash reads the same ranges;
//   - entity#p<i>: partition i's checkpoint: Resume holds the plan id,
//     the source's position in the range and whether the range was read
//     to its end; Watermark the newest increment the partition committed.
//
// Each partition runs under its own fenced claim (sink.Partitioned) and
// resumes from its own position. The partition that finds, after its
// last commit, every partition done writes the entity's checkpoint —
// the newest of the partitions' watermarks — and removes the plan, in
// one transaction fenced by its claim; until then the entity's
// watermark is what it was.

// planName and partName are the partition keys of the plan and of
// partition i.
const planName = "plan"

func partName(i int) string { return "p" + strconv.Itoa(i) }

// partPlan is the stored plan of a backfill.
type partPlan struct {
	ID     string            `json:"id"`
	Ranges []source.KeyRange `json:"ranges"`
}

// partResume is a partition's stored Resume.
type partResume struct {
	Plan   string `json:"plan"`
	Resume string `json:"resume,omitempty"`
	Done   bool   `json:"done,omitempty"`
}

// part is the partition a syncer reads.
type part struct {
	name   string
	plan   *partPlan
	rng    source.KeyRange
	resume string // the source's position, unwrapped
	done   bool   // read to its end by an earlier run
	pd     sink.Partitioned
}

func (p *part) wrap(resume string, done bool) string {
	b, _ := json.Marshal(partResume{Plan: p.plan.ID, Resume: resume, Done: done})
	return string(b)
}

// unwrap reads a stored partition Resume of this plan (another plan's is
// no position at all).
func (p *part) unwrap(stored string) {
	var r partResume
	if stored == "" || json.Unmarshal([]byte(stored), &r) != nil || r.Plan != p.plan.ID {
		return
	}
	p.resume, p.done = r.Resume, r.Done
}

// partitioned reports whether the entity asks for partitions.
func partitioned(e *pipeline.Entity) bool {
	return e.Partitions > 0 || e.PartitionRows > 0 || (e.Windows && e.PartitionEvery > 0)
}

// syncPartitioned runs a partitioned backfill of e when this run is one
// (a full read, or a backfill left unfinished by an earlier run); ok is
// false when the run is an ordinary one.
func syncPartitioned(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options) (*Result, bool) {
	log := o.Logger
	if log == nil {
		log = defaultLogger()
	}
	pd, isPD := o.Dest.(sink.Partitioned)
	if o.DryRun || e.Program == nil || e.Source == nil || !o.Start.IsZero() || !o.End.IsZero() {
		return nil, false
	}
	fail := func(err error) (*Result, bool) {
		now := time.Now().UTC()
		r := &Result{Sync: sink.Sync{Pipeline: plan.Name, Entity: e.Name, PlanHash: plan.Hash, StartedAt: now, FinishedAt: now, Status: sink.StatusFailed}}
		if errors.Is(err, sink.ErrLocked) {
			r.Elsewhere = true
		}
		if ctx.Err() != nil {
			r.Status = sink.StatusInterrupted
		}
		r.Err = &redactedError{msg: plan.Redact(err.Error()), err: err}
		r.Errors = append(r.Errors, r.Err.Error())
		log.Error(fmt.Sprintf("Sync of %s %s failed: %s", plan.Name, e.Name, r.Err.Error()), "pipeline", plan.Name, "entity", e.Name)
		return r, true
	}
	if !isPD {
		if o.Full || e.Incremental == nil {
			log.Warn(fmt.Sprintf("%s %s: partitions need a PostgreSQL destination; this run reads it as one stream", plan.Name, e.Name))
		}
		return nil, false
	}
	stored, err := o.Dest.Checkpoint(ctx, plan.Name, e.Name)
	if err != nil {
		return fail(fmt.Errorf("reading the checkpoint: %w", err))
	}
	storedPlan, err := o.Dest.Checkpoint(ctx, plan.Name, sink.PartitionKey(e.Name, planName))
	if err != nil {
		return fail(fmt.Errorf("reading the partition plan: %w", err))
	}
	inc := e.Incremental
	fullRead := inc == nil || o.Full || (stored.Watermark == "" && inc.Start == "")
	if e.Windows {
		// Time windows start at incremental.start: a first sync (no
		// watermark yet) is the backfill.
		fullRead = o.Full || stored.Watermark == ""
	}
	if storedPlan.Resume == "" && !fullRead {
		return nil, false // incremental: one stream
	}
	pp, err := makePlan(ctx, plan, e, o, storedPlan.Resume)
	if err != nil {
		if errors.Is(err, sink.ErrLocked) {
			log.Info(fmt.Sprintf("Skipped %s %s: another crmsync run is syncing it", plan.Name, e.Name))
		}
		return fail(err)
	}
	log.Info(fmt.Sprintf("Partitioned backfill of %s %s: %d partitions", plan.Name, e.Name, len(pp.Ranges)), "pipeline", plan.Name, "entity", e.Name, "plan", pp.ID)
	if o.Dispatch != nil {
		if err := o.Dispatch(ctx, pp.ID, len(pp.Ranges)); err != nil {
			return fail(fmt.Errorf("queueing the %d partitions of %s %s: %w", len(pp.Ranges), plan.Name, e.Name, err))
		}
		now := time.Now().UTC()
		return &Result{Sync: sink.Sync{Pipeline: plan.Name, Entity: e.Name, PlanHash: plan.Hash, StartedAt: now, FinishedAt: now, Status: sink.StatusSuccess}, Dispatched: true}, true
	}
	parallel := o.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	po := o
	po.Progress, po.Parallel = nil, 0 // concurrent partitions: no per-page callback
	results := make([]*Result, len(pp.Ranges))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, rng := range pp.Ranges {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = SyncPartition(ctx, plan, e, po, pd, pp, i, rng)
		}()
	}
	wg.Wait()
	return combine(plan, e, results), true
}

// makePlan returns the stored plan of an unfinished backfill or, for a
// new one (or --full), splits the entity and stores the plan: under the
// entity's ordinary claim, so no partition of an older plan is running.
func makePlan(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options, stored string) (*partPlan, error) {
	if stored != "" && !o.Full {
		var pp partPlan
		if err := json.Unmarshal([]byte(stored), &pp); err == nil && pp.ID != "" && len(pp.Ranges) > 0 {
			// Continuing: when no partition runs anywhere, the history
			// rows that dead runs left "running" are marked interrupted.
			if unlock, err := o.Dest.Lock(ctx, plan.Name, e.Name); err == nil {
				_, err = o.Dest.MarkInterrupted(ctx, plan.Name, e.Name)
				unlock()
				if err != nil {
					return nil, fmt.Errorf("marking interrupted syncs: %w", err)
				}
			} else if !errors.Is(err, sink.ErrLocked) {
				return nil, fmt.Errorf("locking %s %s: %w", plan.Name, e.Name, err)
			}
			return &pp, nil
		}
	}
	unlock, err := o.Dest.Lock(ctx, plan.Name, e.Name)
	if err != nil {
		if errors.Is(err, sink.ErrLocked) {
			return nil, fmt.Errorf("another crmsync run is syncing %s %s right now; this run did nothing (%w)", plan.Name, e.Name, err)
		}
		return nil, fmt.Errorf("locking %s %s: %w", plan.Name, e.Name, err)
	}
	defer unlock()
	if _, err := o.Dest.MarkInterrupted(ctx, plan.Name, e.Name); err != nil {
		return nil, fmt.Errorf("marking interrupted syncs: %w", err)
	}
	if err := o.Dest.Prepare(ctx, e.Table); err != nil {
		return nil, err
	}
	for _, ch := range e.Children {
		if err := o.Dest.Prepare(ctx, ch.Table); err != nil {
			return nil, err
		}
	}
	// Another run may have planned while this one waited for the claim.
	if cp, err := o.Dest.Checkpoint(ctx, plan.Name, sink.PartitionKey(e.Name, planName)); err == nil && cp.Resume != "" && cp.Resume != stored && !o.Full {
		var pp partPlan
		if json.Unmarshal([]byte(cp.Resume), &pp) == nil && pp.ID != "" && len(pp.Ranges) > 0 {
			return &pp, nil
		}
	}
	var ranges []source.KeyRange
	if e.Windows {
		ranges, err = timeWindows(e, time.Now().UTC())
	} else {
		ranges, err = sourceRanges(ctx, plan, e, o)
	}
	if err != nil {
		return nil, err
	}
	id := make([]byte, 8)
	rand.Read(id)
	pp := &partPlan{ID: hex.EncodeToString(id), Ranges: ranges}
	js, _ := json.Marshal(pp)
	if _, err := o.Dest.Write(ctx, &sink.Batch{Pipeline: plan.Name, Entity: e.Name, Partition: planName, Table: e.Table,
		Checkpoint: &sink.Checkpoint{Resume: string(js)}}); err != nil {
		return nil, fmt.Errorf("storing the partition plan: %w", err)
	}
	return pp, nil
}

// sourceRanges asks the entity's source for its key ranges.
func sourceRanges(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options) ([]source.KeyRange, error) {
	rd, err := e.Source.Open(ctx, &source.Env{Logger: o.Logger, Redact: plan.Redact})
	if err != nil {
		return nil, fmt.Errorf("opening the source: %w", err)
	}
	if c, ok := rd.(interface{ Close() error }); ok {
		defer c.Close()
	}
	pr, ok := rd.(source.Partitioner)
	if !ok {
		return nil, fmt.Errorf("entity %q: its source cannot be partitioned (not built)", e.Name)
	}
	return pr.Partitions(ctx, e.Partitions, e.PartitionRows)
}

// maxWindows bounds the windows of one plan (partition_every).
const maxWindows = 1024

// timeWindows splits [incremental.start, now) into the entity's time
// windows: Partitions of equal length, or one per PartitionEvery from
// the start (the last one ends at now). Each bound is an RFC 3339 time
// in UTC; the windows meet, so every time lies in exactly one.
func timeWindows(e *pipeline.Entity, now time.Time) ([]source.KeyRange, error) {
	if e.Incremental == nil || e.Incremental.Start == "" {
		return nil, fmt.Errorf("entity %q: time-window partitions need incremental.start", e.Name)
	}
	start, err := pipeline.ParseWatermarkTime(e.Incremental.Start)
	if err != nil {
		return nil, fmt.Errorf("entity %q: incremental start: %w", e.Name, err)
	}
	start, now = start.UTC().Truncate(time.Second), now.UTC().Truncate(time.Second)
	if !start.Before(now) {
		return nil, fmt.Errorf("entity %q: incremental start %s is not before the sync's start %s: no window to read", e.Name, start.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	span := now.Sub(start)
	var bounds []time.Time
	if every := e.PartitionEvery; every > 0 {
		n := (span + every - 1) / every
		if n > maxWindows {
			return nil, fmt.Errorf("entity %q: partition_every %s makes %d windows from %s to now; at most %d (choose a longer one)", e.Name, every, n, start.Format(time.RFC3339), maxWindows)
		}
		for t := start; t.Before(now); t = t.Add(every) {
			bounds = append(bounds, t)
		}
	} else {
		secs := int64(span / time.Second)
		n := int64(max(e.Partitions, 1))
		if n > secs {
			n = max(secs, 1) // windows of at least a second
		}
		for i := range n {
			bounds = append(bounds, start.Add(time.Duration(secs*i/n)*time.Second))
		}
	}
	out := make([]source.KeyRange, len(bounds))
	for i, b := range bounds {
		hi := now
		if i+1 < len(bounds) {
			hi = bounds[i+1]
		}
		out[i] = source.KeyRange{Lo: b.Format(time.RFC3339), Hi: hi.Format(time.RFC3339)}
	}
	return out, nil
}

// window reads a time-window partition's bounds.
func (p *part) window() (lo, hi time.Time, err error) {
	if lo, err = time.Parse(time.RFC3339, p.rng.Lo); err == nil {
		hi, err = time.Parse(time.RFC3339, p.rng.Hi)
	}
	if err != nil {
		err = fmt.Errorf("partition %s: its window [%s, %s) is not two RFC 3339 times: %w", p.name, p.rng.Lo, p.rng.Hi, err)
	}
	return lo, hi, err
}

// SyncStoredPartition runs partition i of the entity's stored plan id
// (a queued partition job): nothing when that backfill is finished.
func SyncStoredPartition(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options, id string, i int) *Result {
	now := time.Now().UTC()
	none := &Result{Sync: sink.Sync{Pipeline: plan.Name, Entity: e.Name, PlanHash: plan.Hash, StartedAt: now, FinishedAt: now, Status: sink.StatusSuccess}, NothingToDo: true}
	pd, ok := o.Dest.(sink.Partitioned)
	if !ok || !partitioned(e) {
		return none
	}
	cp, err := o.Dest.Checkpoint(ctx, plan.Name, sink.PartitionKey(e.Name, planName))
	if err != nil {
		none.Status, none.NothingToDo = sink.StatusFailed, false
		none.Err = fmt.Errorf("reading the partition plan of %s %s: %w", plan.Name, e.Name, err)
		return none
	}
	var pp partPlan
	if json.Unmarshal([]byte(cp.Resume), &pp) != nil || pp.ID != id || i < 0 || i >= len(pp.Ranges) {
		return none
	}
	return SyncPartition(ctx, plan, e, o, pd, &pp, i, pp.Ranges[i])
}

// SyncPartition runs partition i of a stored plan under its own claim:
// from its own position, with its own history row (entity e, its errors
// and log lines naming the partition). After its last commit it tries
// to finish the backfill (see FinishPartitions).
func SyncPartition(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options, pd sink.Partitioned, pp *partPlan, i int, rng source.KeyRange) *Result {
	o.Full = false
	return syncWith(ctx, plan, e, o, &part{name: partName(i), plan: pp, rng: rng, pd: pd})
}

// finishPartitions writes the entity's checkpoint when every partition
// of the plan is done: the newest of their watermarks (never behind the
// entity's stored one), in one transaction fenced by this partition's claim.
func (s *syncer) finishPartitions(ctx context.Context) error {
	p := s.part
	keys := []string{sink.PartitionKey(s.e.Name, planName)}
	for i := range p.plan.Ranges {
		keys = append(keys, sink.PartitionKey(s.e.Name, partName(i)))
	}
	entityCP, err := s.o.Dest.Checkpoint(ctx, s.plan.Name, s.e.Name)
	if err != nil {
		return fmt.Errorf("reading the checkpoint: %w", err)
	}
	inc := s.e.Incremental
	merged, err := p.pd.FinishPartitions(ctx, s.plan.Name, s.e.Name, keys, s.fence(), func(got map[string]sink.Checkpoint) (sink.Checkpoint, bool) {
		var pp partPlan
		if json.Unmarshal([]byte(got[keys[0]].Resume), &pp) != nil || pp.ID != p.plan.ID {
			return sink.Checkpoint{}, false // finished already, or replanned
		}
		wm := entityCP.Watermark
		for _, k := range keys[1:] {
			cp, ok := got[k]
			var r partResume
			if !ok || json.Unmarshal([]byte(cp.Resume), &r) != nil || r.Plan != p.plan.ID || !r.Done {
				return sink.Checkpoint{}, false
			}
			wm = maxWatermark(inc, wm, cp.Watermark)
		}
		return sink.Checkpoint{Watermark: wm}, true
	})
	if err != nil {
		return fmt.Errorf("finishing the partitioned backfill: %w", err)
	}
	if merged {
		s.log.Info(fmt.Sprintf("Partitioned backfill of %s %s complete: every partition committed; the watermark moves", s.plan.Name, s.e.Name))
	}
	return nil
}

// maxWatermark is the newer of two stored watermarks ("" is none).
func maxWatermark(inc *pipeline.Incremental, a, b string) string {
	if a == "" {
		return b
	}
	if b == "" || inc == nil {
		return a
	}
	switch inc.Type {
	case value.Date, value.Datetime:
		ta, ea := pipeline.ParseWatermarkTime(a)
		tb, eb := pipeline.ParseWatermarkTime(b)
		if ea == nil && eb == nil {
			if tb.After(ta) {
				return b
			}
			return a
		}
	case value.Integer, value.Decimal, value.Float:
		da, ea := decimal.NewFromString(a)
		db, eb := decimal.NewFromString(b)
		if ea == nil && eb == nil {
			if db.GreaterThan(da) {
				return b
			}
			return a
		}
	}
	if b > a {
		return b
	}
	return a
}

// combine sums the partitions' results into the entity's: counts add up
// (each partition has its own history row), the worst status wins.
func combine(plan *pipeline.Plan, e *pipeline.Entity, rs []*Result) *Result {
	out := &Result{Sync: sink.Sync{Pipeline: plan.Name, Entity: e.Name, PlanHash: plan.Hash, Status: sink.StatusSuccess}}
	rank := map[string]int{sink.StatusSuccess: 0, sink.StatusPartial: 1, sink.StatusInterrupted: 2, sink.StatusFailed: 3}
	var errs []error
	elsewhere := true
	for _, r := range rs {
		if out.StartedAt.IsZero() || r.StartedAt.Before(out.StartedAt) {
			out.StartedAt = r.StartedAt
		}
		if r.FinishedAt.After(out.FinishedAt) {
			out.FinishedAt = r.FinishedAt
		}
		s, x := &out.Sync, r.Sync
		s.Processed += x.Processed
		s.Created += x.Created
		s.Updated += x.Updated
		s.Unchanged += x.Unchanged
		s.Failed += x.Failed
		s.Filtered += x.Filtered
		s.Rejected += x.Rejected
		s.Duplicates += x.Duplicates
		s.APICalls += x.APICalls
		s.Retries += x.Retries
		s.ValidationErrors += x.ValidationErrors
		s.ProcessingErrors += x.ProcessingErrors
		s.Errors = append(s.Errors, x.Errors...)
		if rank[r.Status] > rank[out.Status] {
			out.Status = r.Status
		}
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
		elsewhere = elsewhere && r.Elsewhere
		for f, n := range r.Warnings {
			if out.Warnings == nil {
				out.Warnings, out.NotPrinted = map[string]int64{}, map[string]int64{}
			}
			out.Warnings[f] += n
			out.NotPrinted[f] += r.NotPrinted[f]
		}
	}
	out.Elsewhere = elsewhere && len(rs) > 0
	out.Err = errors.Join(errs...)
	out.Duration = out.FinishedAt.Sub(out.StartedAt)
	if secs := out.Duration.Seconds(); secs > 0 {
		out.RecordsPerSecond = float64(out.Processed) / secs
	}
	if out.Processed > 0 {
		out.SuccessRate = float64(out.Created+out.Updated+out.Unchanged) / float64(out.Processed)
	}
	return out
}
