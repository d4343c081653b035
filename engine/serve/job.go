package serve

import (
	"math/rand/v2"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/schedule"
)

// jobKey names an entity across files and reloads.
type jobKey struct{ pipeline, entity string }

// job is one entity on its schedule. The Scheduler's mutex guards it.
type job struct {
	key  jobKey
	file string
	// plan and ent are what the next run uses; a running sync keeps the
	// pointers it started with, so a reload never changes a sync midway.
	plan      *pipeline.Plan
	ent       *pipeline.Entity
	sched     schedule.Schedule // nil: not scheduled
	schedText string

	next     time.Time // zero: not due
	running  bool
	removed  bool // the file or entity is gone: drop the job when its run ends
	started  time.Time
	progress runner.Progress

	last        *RunStatus
	lastSuccess time.Time
	lastErr     string
	lastErrAt   time.Time
	failures    int  // failed syncs in a row
	elsewhere   bool // the last tick found another process syncing it
	watermark   string
}

// isInterval tells "every 15m" schedules from cron ones: an interval
// runs as soon as it is loaded, a cron schedule waits for its time.
func isInterval(text string) bool {
	return strings.HasPrefix(strings.TrimSpace(text), "every ")
}

// interval is the time between two ticks around t.
func (j *job) interval(t time.Time) time.Duration {
	return j.sched.Next(t).Sub(t)
}

// jitter spreads ticks a little, so replicas that load the same files
// do not try the same entities in the same order at the same instant.
func (j *job) jitter(t time.Time) time.Duration {
	limit := min(j.interval(t)/10, 10*time.Second)
	if limit <= 0 {
		return 0
	}
	return rand.N(limit)
}

// first is when a newly loaded job first runs.
func (j *job) first(now time.Time) time.Time {
	if j.sched == nil {
		return time.Time{}
	}
	if isInterval(j.schedText) {
		return now.Add(j.jitter(now))
	}
	return j.sched.Next(now).Add(j.jitter(now))
}

// after is when the job runs next, given that its last run started at
// start and ended at end. A run that outlasted its interval delays the
// next one, which then starts at once: ticks never stack. Failures in a
// row stretch the wait exponentially, capped at maxBackoff (or the
// schedule's own interval when that is longer).
func (j *job) after(start, end time.Time, maxBackoff time.Duration) time.Time {
	if j.sched == nil {
		return time.Time{}
	}
	next := j.sched.Next(start)
	if j.failures > 1 {
		iv := j.interval(start)
		limit := max(maxBackoff, iv)
		d := iv
		for i := 1; i < j.failures && d < limit; i++ {
			d *= 2
		}
		next = start.Add(min(d, limit))
	}
	next = next.Add(j.jitter(start))
	if next.Before(end) {
		next = end
	}
	return next
}
