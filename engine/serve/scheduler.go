// Package serve is the long-running runner behind `crmsync serve`: it
// runs every entity of every pipeline file in a folder on its schedule,
// reloads files when they change (a file that does not lint clean never
// replaces a working plan), and serves health, Prometheus metrics and a
// status page.
//
// With OpenQueue, scheduling and execution go through River, whose
// tables live in the destination (the PostgreSQL schema, or the SQLite
// file) and are made by River's migrator: every process registers each
// entity's schedule as a River periodic job, the elected leader's fire
// and insert a sync job unique per (pipeline, entity) while it waits or
// runs, and any process's worker runs it on the same path as Once. So
// several processes serving the same files against one PostgreSQL run
// each scheduled sync once. Sync jobs have one attempt: a failure is
// retried by the next tick, after the back-off counted from the shared
// history. Each run still takes the entity's lock and fenced claim in
// the destination, so a sync that another process holds is skipped
// ("running elsewhere") and a zombie's batch cannot commit.
//
// Without OpenQueue (Once, and Run before it was opened) the process
// keeps its own clock.
package serve

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/schedule"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/tenant"
)

// Options configure a Scheduler.
type Options struct {
	Dir     string           // the folder of pipeline files (*.yaml, *.yml; not recursive)
	Dest    sink.Destination // where every pipeline writes
	Profile string           // environment profile (--env)
	Logger  *slog.Logger
	Version string
	// MaxConcurrent caps the syncs this process runs at once (default 8);
	// Parallel caps those of one pipeline (default 4).
	MaxConcurrent, Parallel int
	// DefaultSchedule is the schedule of a pipeline file without one;
	// empty leaves such pipelines unscheduled (they run only with Once).
	DefaultSchedule string
	// Debounce is how long the folder must be quiet after a change before
	// it is reloaded (default 250ms): editors write a file in several steps.
	Debounce time.Duration
	// MaxBackoff caps the wait after failures in a row (default 1h, or the
	// schedule's interval when that is longer).
	MaxBackoff time.Duration
	// StuckAfter is how long a sync job may go without a heartbeat
	// before River's rescuer frees it (its process died), so that the
	// entity's next tick can queue it again (default 30s; only with
	// OpenQueue). A running sync beats every quarter of it.
	StuckAfter time.Duration
	// AdminToken enables the operator API (POST /api/run, /api/pause,
	// /api/resume with "Authorization: Bearer <token>"); empty: refused.
	AdminToken string
	// Tenants, when set, run every file once per tenant, as the pipeline
	// <name>@<tenant> with the tenant's environment and tables; a tenant
	// with a Dest of its own (a schema) writes there, else into Dest.
	Tenants []Tenant
}

// Tenant is one tenant of Options.Tenants.
type Tenant struct {
	*tenant.Tenant
	Dest sink.Destination // nil: Options.Dest
}

// Scheduler runs the entities of a folder of pipeline files.
type Scheduler struct {
	o        Options
	log      *slog.Logger
	metrics  *Metrics
	started  time.Time
	defSched schedule.Schedule

	reloadMu sync.Mutex // one reload at a time

	mu      sync.Mutex
	files   map[string]*fileState
	jobs    map[jobKey]*job
	loaded  bool
	active  int
	perPipe map[string]int
	once    bool
	results []*runner.Result

	q         queue             // River, after OpenQueue; nil: the process's own clock
	periodics map[jobKey]string // River periodic jobs added, by the schedule text they have
	// queueStatus is what queueGauges last saw.
	queueStatus QueueStatus
	stopping    bool   // Run's context ended: no sync job starts a sync any more
	pausedSet   pauses // the operator's pauses, as last read
	// dests are the destinations of tenants' pipelines that have one of
	// their own (by pipeline name); the others write to Options.Dest.
	dests map[string]sink.Destination

	kick       chan struct{}
	wg         sync.WaitGroup
	runCtx     context.Context // syncs run on this; cancelled when the grace period ends
	cancelRuns context.CancelFunc
}

// New makes a Scheduler; nothing is loaded or run until Reload and Run.
func New(o Options) (*Scheduler, error) {
	if o.Dest == nil {
		return nil, fmt.Errorf("serve: no destination")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 8
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Debounce <= 0 {
		o.Debounce = 250 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = 30 * time.Second
	}
	s := &Scheduler{o: o, log: o.Logger, metrics: newMetrics(), started: time.Now(),
		files: map[string]*fileState{}, jobs: map[jobKey]*job{}, dests: map[string]sink.Destination{}, perPipe: map[string]int{}, kick: make(chan struct{}, 1)}
	if o.DefaultSchedule != "" {
		sch, err := schedule.Parse(o.DefaultSchedule)
		if err != nil {
			return nil, fmt.Errorf("default schedule %q: %w", o.DefaultSchedule, err)
		}
		s.defSched = sch
	}
	s.runCtx, s.cancelRuns = context.WithCancel(context.Background())
	return s, nil
}

// Metrics returns the scheduler's metrics (their registry is exported).
func (s *Scheduler) Metrics() *Metrics { return s.metrics }

// Run schedules syncs until ctx ends, then stops scheduling, lets running
// syncs finish for up to grace, and interrupts those still running (the
// runner records them as interrupted; what they committed stays).
func (s *Scheduler) Run(ctx context.Context, grace time.Duration) {
	if s.q != nil {
		s.runQueue(ctx, grace)
		return
	}
	s.loop(ctx)
	s.log.Info("Stopping: no new syncs start")
	s.drain(grace)
}

// Once runs every entity of every loaded plan once, within the same
// concurrency limits, and returns the results ordered by pipeline and
// entity. The error is ctx's when it ended before every entity ran.
func (s *Scheduler) Once(ctx context.Context, grace time.Duration) ([]*runner.Result, error) {
	s.mu.Lock()
	s.once = true
	now := time.Now()
	for _, j := range s.jobs {
		j.next = now
	}
	s.mu.Unlock()
	complete := s.loop(ctx)
	s.drain(grace)
	s.mu.Lock()
	defer s.mu.Unlock()
	res := slices.Clone(s.results)
	slices.SortFunc(res, func(a, b *runner.Result) int {
		return cmp.Or(cmp.Compare(a.Pipeline, b.Pipeline), cmp.Compare(a.Entity, b.Entity))
	})
	if !complete {
		return res, ctx.Err()
	}
	return res, nil
}

// loop starts due jobs until ctx ends (false) or, in once mode, until
// every job has run (true).
func (s *Scheduler) loop(ctx context.Context) bool {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		wake, idle := s.startDue(time.Now())
		once := s.once
		s.mu.Unlock()
		if once && idle {
			return true
		}
		wait := time.Hour
		if !wake.IsZero() {
			wait = max(time.Until(wake), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
		case <-s.kick:
		}
	}
}

// poke wakes the loop: a run ended or a reload changed the jobs.
func (s *Scheduler) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// startDue starts the due jobs the limits allow, earliest first. It
// returns when the next idle job is due, and whether nothing runs or
// waits at all. A due job held back by a limit waits for a poke.
func (s *Scheduler) startDue(now time.Time) (wake time.Time, idle bool) {
	var due []*job
	for _, j := range s.jobs {
		if j.running || j.removed || j.next.IsZero() {
			continue
		}
		if !j.next.After(now) {
			due = append(due, j)
		} else if wake.IsZero() || j.next.Before(wake) {
			wake = j.next
		}
	}
	slices.SortFunc(due, func(a, b *job) int { return a.next.Compare(b.next) })
	for _, j := range due {
		if s.active >= s.o.MaxConcurrent || s.perPipe[j.key.pipeline] >= s.o.Parallel {
			continue
		}
		s.start(j, now)
	}
	return wake, s.active == 0 && len(due) == 0 && wake.IsZero()
}

func (s *Scheduler) start(j *job, now time.Time) {
	s.begin(j, now)
	go s.execute(s.runCtx, j, j.plan, j.ent)
}

// begin marks a job running; the caller holds s.mu and runs execute.
func (s *Scheduler) begin(j *job, now time.Time) {
	j.running, j.started, j.next = true, now, time.Time{}
	j.progress = runner.Progress{Pipeline: j.key.pipeline, Entity: j.key.entity, Total: -1}
	s.active++
	s.perPipe[j.key.pipeline]++
	s.metrics.running.WithLabelValues(j.key.pipeline, j.key.entity).Set(1)
	s.wg.Add(1)
}

// execute runs one sync on the plan the job had when it started.
func (s *Scheduler) execute(ctx context.Context, j *job, plan *pipeline.Plan, ent *pipeline.Entity) {
	defer s.wg.Done()
	dest := s.destFor(plan.Name)
	o := runner.Options{Dest: dest, Logger: s.log, Version: s.o.Version,
		WrapTransport: s.metrics.http.wrap,
		Progress: func(p runner.Progress) {
			s.mu.Lock()
			j.progress = p
			s.mu.Unlock()
		}}
	if s.q != nil {
		// A partitioned backfill: one job per partition, for any replica.
		o.Dispatch = func(ctx context.Context, id string, n int) error {
			args := make([]PartitionArgs, n)
			for i := range args {
				args[i] = PartitionArgs{Pipeline: plan.Name, Entity: ent.Name, Plan: id, Partition: i}
			}
			return s.q.insertPartitions(ctx, args)
		}
	}
	s.countRetry(ctx, dest, plan.Name, ent.Name)
	res := runner.Sync(ctx, plan, ent, o)
	if res.Dispatched {
		s.log.Info(fmt.Sprintf("Queued the partitions of %s %s for every replica", plan.Name, ent.Name), "pipeline", plan.Name, "entity", ent.Name)
	}
	elsewhere := res.Elsewhere
	wm, wmOK := "", false
	if res.Dispatched {
		// Planning a backfill is not a sync: the partitions' jobs are.
		s.finishDispatched(j)
		return
	}
	if !elsewhere {
		s.metrics.observe(res)
		// The stored watermark, not the run's own: it is what the next
		// run (here or on another replica) starts from.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if cp, err := dest.Checkpoint(ctx, plan.Name, ent.Name); err == nil {
			wm, wmOK = cp.Watermark, true
		}
		cancel()
	}
	s.finish(j, res, elsewhere, wm, wmOK)
}

// finishDispatched ends the run of an entity job that queued the
// partitions of a backfill: its next tick comes as usual, the status
// and failure count are the partitions' to change.
func (s *Scheduler) finishDispatched(j *job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.poke()
	p, e := j.key.pipeline, j.key.entity
	j.running = false
	s.active--
	s.perPipe[p]--
	s.metrics.running.WithLabelValues(p, e).Set(0)
	switch {
	case j.removed:
		if s.jobs[j.key] == j {
			delete(s.jobs, j.key)
		}
		s.metrics.forgetEntity(p, e)
	case s.once:
		j.next = time.Time{}
	default:
		j.next = j.after(j.started, time.Now(), s.o.MaxBackoff)
		s.setNext(j)
	}
}

func (s *Scheduler) finish(j *job, res *runner.Result, elsewhere bool, wm string, wmOK bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.poke()
	now := time.Now()
	p, e := j.key.pipeline, j.key.entity
	j.running = false
	s.active--
	s.perPipe[p]--
	s.metrics.running.WithLabelValues(p, e).Set(0)
	if s.once {
		s.results = append(s.results, res)
	}
	j.elsewhere = elsewhere
	if elsewhere {
		s.log.Debug("another process is syncing this entity; skipping this tick", "pipeline", p, "entity", e)
		s.metrics.skipped.WithLabelValues(p, e, "running_elsewhere").Inc()
	} else {
		j.last = runStatusOf(&res.Sync, res.Err)
		switch res.Status {
		case sink.StatusSuccess, sink.StatusPartial:
			j.failures = 0
			j.lastSuccess = res.FinishedAt
		case sink.StatusFailed:
			j.failures++
		}
		if res.Err != nil {
			j.lastErr, j.lastErrAt = res.Err.Error(), res.FinishedAt
		}
		if wmOK {
			j.watermark = wm
			s.setWatermark(p, e, wm)
		}
	}
	s.metrics.failures.WithLabelValues(p, e).Set(float64(j.failures))
	switch {
	case j.removed:
		if s.jobs[j.key] == j {
			delete(s.jobs, j.key)
		}
		s.metrics.forgetEntity(p, e)
		s.log.Info("Stopped the schedule of a removed entity", "pipeline", p, "entity", e)
		return
	case s.once:
		j.next = time.Time{}
		return
	}
	j.next = j.after(j.started, now, s.o.MaxBackoff)
	s.setNext(j)
	if j.failures > 1 {
		s.log.Warn(fmt.Sprintf("%s %s failed %d times in a row; backing off until %s", p, e, j.failures, j.next.Format(time.RFC3339)),
			"pipeline", p, "entity", e, "consecutive_failures", j.failures, "next_run", j.next)
	}
}

func (s *Scheduler) setWatermark(p, e, wm string) {
	if t, err := pipeline.ParseWatermarkTime(wm); err == nil {
		s.metrics.watermark.WithLabelValues(p, e).Set(float64(t.UnixMilli()) / 1000)
	}
}

func (s *Scheduler) setNext(j *job) {
	if j.next.IsZero() {
		s.metrics.nextRun.DeleteLabelValues(j.key.pipeline, j.key.entity)
		return
	}
	s.metrics.nextRun.WithLabelValues(j.key.pipeline, j.key.entity).Set(float64(j.next.UnixMilli()) / 1000)
}

// drain waits for running syncs, at most grace, then interrupts them.
func (s *Scheduler) drain(grace time.Duration) {
	defer s.cancelRuns()
	s.mu.Lock()
	n := s.active
	s.mu.Unlock()
	if n == 0 {
		return
	}
	s.log.Info(fmt.Sprintf("Stopping: waiting up to %s for %d running sync(s) to finish", grace, n))
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Warn("Grace period over: interrupting the running syncs; what they committed stays, the rest is read again next time")
		s.cancelRuns()
		<-done
	}
}

// countRetry counts a sync that follows a failed one (the history says,
// whichever replica ran it) in crmsync_jobs_retried_total.
func (s *Scheduler) countRetry(ctx context.Context, dest sink.Destination, pipeline, entity string) {
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	last, err := dest.History(c, sink.Filter{Pipeline: pipeline, Entity: entity, Limit: 1})
	if err == nil && len(last) == 1 && last[0].Status == sink.StatusFailed {
		s.metrics.jobsRetried.WithLabelValues(pipeline, entity).Inc()
	}
}
