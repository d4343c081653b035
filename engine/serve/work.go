package serve

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
)

// runQueue is Run with River: this process adds every entity's periodic
// job (only the elected leader's enqueue), works sync jobs from any
// replica's ticks, and on ctx's end stops fetching, lets running syncs
// finish within grace and then cancels them.
func (s *Scheduler) runQueue(ctx context.Context, grace time.Duration) {
	s.syncPeriodic()
	if err := s.q.start(context.WithoutCancel(ctx)); err != nil {
		s.log.Error("job queue: starting River: " + err.Error())
		<-ctx.Done()
		return
	}
	s.log.Info("Scheduling through River in the destination: the elected leader queues each entity's sync, any replica runs it")
	gaugeCtx, stopGauges := context.WithCancel(context.Background())
	gaugesDone := make(chan struct{})
	go func() {
		defer close(gaugesDone)
		s.queueGauges(gaugeCtx)
	}()
	<-ctx.Done()
	s.log.Info("Stopping: no new syncs start")
	s.mu.Lock()
	s.stopping = true
	n := s.active
	s.mu.Unlock()
	if n > 0 {
		s.log.Info(fmt.Sprintf("Stopping: waiting up to %s for %d running sync(s) to finish", grace, n))
	}
	graceCtx, cancel := context.WithTimeout(context.Background(), grace)
	err := s.q.stop(graceCtx)
	cancel()
	if err != nil {
		s.log.Warn("Grace period over: interrupting the running syncs; what they committed stays, the rest is read again next time")
		s.cancelRuns()
		hard, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := s.q.stopAndCancel(hard); err != nil {
			s.log.Warn("job queue: stopping River: " + err.Error())
		}
		cancel()
	}
	s.cancelRuns()
	s.wg.Wait()
	stopGauges()
	<-gaugesDone
	s.metrics.leader.Set(0)
}

// queueGauges keeps crmsync_leader and the job counts current.
func (s *Scheduler) queueGauges(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	was := false
	for {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		if lead, err := s.q.leader(c); err == nil {
			if lead != was {
				if lead {
					s.log.Info("This process is now the leader: it queues the scheduled syncs")
				} else {
					s.log.Info("This process is no longer the leader")
				}
				was = lead
			}
			s.metrics.leader.Set(b2f(lead))
			s.mu.Lock()
			s.queueStatus.Leader = lead
			s.mu.Unlock()
		}
		s.refreshPaused(c)
		if n, err := s.q.counts(c); err == nil {
			queued := n[rivertype.JobStateAvailable] + n[rivertype.JobStatePending] + n[rivertype.JobStateScheduled] + n[rivertype.JobStateRetryable]
			s.metrics.jobsQueued.Set(float64(queued))
			s.metrics.jobsRunning.Set(float64(n[rivertype.JobStateRunning]))
			s.mu.Lock()
			s.queueStatus.Queued, s.queueStatus.Running = queued, n[rivertype.JobStateRunning]
			s.mu.Unlock()
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// work runs one sync job: the entity's sync on its current plan, in this
// process's limits, unless the entity is gone, already runs here, or is
// backing off after failures in a row (counted from the destination's
// history, so every replica backs off alike).
func (s *Scheduler) work(ctx context.Context, k jobKey) {
	p, e := k.pipeline, k.entity
	failures, lastStart, lastEnd, histOK := s.failuresOf(ctx, k)
	if set, err := s.q.paused(ctx); err == nil && set.has(k) {
		s.log.Debug("paused by the operator; skipping this tick", "pipeline", p, "entity", e)
		s.metrics.skipped.WithLabelValues(p, e, "paused").Inc()
		return
	}
	for {
		s.mu.Lock()
		j := s.jobs[k]
		switch {
		case s.stopping:
			s.mu.Unlock()
			s.metrics.skipped.WithLabelValues(p, e, "stopping").Inc()
			return
		case j == nil || j.removed || j.plan == nil:
			s.mu.Unlock()
			s.log.Debug("a queued sync of an entity that is no longer loaded here; skipped", "pipeline", p, "entity", e)
			s.metrics.skipped.WithLabelValues(p, e, "not_loaded").Inc()
			return
		case j.running:
			s.mu.Unlock()
			s.metrics.skipped.WithLabelValues(p, e, "running_here").Inc()
			return
		}
		if histOK {
			j.failures = failures
			s.metrics.failures.WithLabelValues(p, e).Set(float64(failures))
			if failures > 1 && j.sched != nil {
				due := j.after(lastStart, lastEnd, s.o.MaxBackoff)
				if time.Until(due) > j.interval(lastStart)/4 {
					j.next = due
					s.setNext(j)
					s.mu.Unlock()
					s.log.Debug("backing off after failures in a row; skipping this tick", "pipeline", p, "entity", e,
						"consecutive_failures", failures, "next_run", due)
					s.metrics.skipped.WithLabelValues(p, e, "backing_off").Inc()
					return
				}
			}
		}
		if s.active < s.o.MaxConcurrent && s.perPipe[p] < s.o.Parallel {
			s.begin(j, time.Now())
			plan, ent := j.plan, j.ent
			s.mu.Unlock()
			s.execute(ctx, j, plan, ent)
			return
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// failuresOf counts the entity's failed syncs in a row in the history
// (interrupted and running ones neither count nor break the row) and
// the start and end of the newest.
func (s *Scheduler) failuresOf(ctx context.Context, k jobKey) (n int, start, end time.Time, ok bool) {
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hist, err := s.destFor(k.pipeline).History(c, sink.Filter{Pipeline: k.pipeline, Entity: k.entity, Limit: 30})
	if err != nil {
		return 0, time.Time{}, time.Time{}, false
	}
scan:
	for _, h := range hist {
		switch h.Status {
		case sink.StatusFailed:
			if n == 0 {
				start, end = h.StartedAt, h.FinishedAt
			}
			n++
		case sink.StatusInterrupted, sink.StatusRunning:
		default:
			break scan
		}
	}
	return n, start, end, true
}

// workPartition runs one queued partition of a partitioned backfill on
// the entity's current plan (runner.SyncStoredPartition: nothing when
// that backfill finished meanwhile). Partitions count among the
// process's running syncs (MaxConcurrent is River's worker limit).
func (s *Scheduler) workPartition(ctx context.Context, a PartitionArgs) {
	k := jobKey{a.Pipeline, a.Entity}
	s.mu.Lock()
	j := s.jobs[k]
	if s.stopping || j == nil || j.removed || j.plan == nil {
		s.mu.Unlock()
		s.metrics.skipped.WithLabelValues(a.Pipeline, a.Entity, "not_loaded").Inc()
		return
	}
	plan, ent := j.plan, j.ent
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	res := runner.SyncStoredPartition(ctx, plan, ent, runner.Options{Dest: s.destFor(plan.Name), Logger: s.log, Version: s.o.Version, WrapTransport: s.metrics.http.wrap}, a.Plan, a.Partition)
	switch {
	case res.NothingToDo:
	case res.Elsewhere:
		s.metrics.skipped.WithLabelValues(a.Pipeline, a.Entity, "running_elsewhere").Inc()
	default:
		s.metrics.observe(res)
	}
}
