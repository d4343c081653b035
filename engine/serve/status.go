package serve

import (
	"cmp"
	"slices"
	"time"

	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/sink"
)

// Status is what /status shows: every pipeline and entity, and the
// problems of pipeline files that did not load clean.
type Status struct {
	Version   string           `json:"version"`
	Dir       string           `json:"dir"`
	StartedAt time.Time        `json:"started_at"`
	Now       time.Time        `json:"now"`
	Pipelines []PipelineStatus `json:"pipelines"`
	Files     []FileStatus     `json:"files"`
	// Problems are those of every file, for a quick look.
	Problems diag.List `json:"problems"`
	// Queue is River's view, when scheduling goes through it.
	Queue *QueueStatus `json:"queue,omitempty"`
}

// QueueStatus is River as this process last saw it (every second).
type QueueStatus struct {
	ClientID string `json:"client_id"`
	Leader   bool   `json:"leader"`       // this process fires every replica's ticks
	Queued   int    `json:"jobs_queued"`  // sync jobs waiting, over all replicas
	Running  int    `json:"jobs_running"` // sync jobs running, over all replicas
}

// PipelineStatus is one running plan.
type PipelineStatus struct {
	Name     string         `json:"name"`
	File     string         `json:"file"`
	Hash     string         `json:"hash"`
	Schedule string         `json:"schedule"` // empty: not scheduled
	Entities []EntityStatus `json:"entities"`
}

// Entity states.
const (
	StateIdle         = "idle"
	StateRunning      = "running"
	StateElsewhere    = "running elsewhere" // another process holds the entity's lock
	StateFailing      = "failing"           // the last sync failed; retried at the next tick
	StateBackingOff   = "backing off"       // failed more than once in a row
	StateStopping     = "stopping"          // its file or entity is gone; the running sync finishes
	StateNotScheduled = "not scheduled"
	StatePaused       = "paused" // by the operator (POST /api/pause); its ticks are skipped
)

// EntityStatus is one entity on its schedule.
type EntityStatus struct {
	Name                string     `json:"name"`
	State               string     `json:"state"`
	NextRun             *time.Time `json:"next_run,omitempty"`
	Running             *Progress  `json:"running,omitempty"`
	LastRun             *RunStatus `json:"last_run,omitempty"`
	LastSuccess         *time.Time `json:"last_success,omitempty"`
	LastError           string     `json:"last_error,omitempty"`
	LastErrorAt         *time.Time `json:"last_error_at,omitempty"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	Watermark           string     `json:"watermark,omitempty"`
	// Recent are the entity's last finished syncs on any replica, newest
	// first (/status only).
	Recent []RecentRun `json:"recent,omitempty"`
}

// RecentRun is one of an entity's last syncs, for its throughput.
type RecentRun struct {
	SyncID           int64     `json:"sync_id"`
	Status           string    `json:"status"`
	StartedAt        time.Time `json:"started_at"`
	Processed        int64     `json:"processed"`
	DurationSeconds  float64   `json:"duration_seconds"`
	RecordsPerSecond float64   `json:"records_per_second"`
}

// Progress is a sync running in this process.
type Progress struct {
	Since   time.Time `json:"since"`
	Pages   int       `json:"pages"`
	Records int64     `json:"records"`
}

// RunStatus is the last finished (or, from history, running) sync.
type RunStatus struct {
	SyncID          int64     `json:"sync_id"`
	Status          string    `json:"status"`
	PlanHash        string    `json:"plan_hash"`
	StartedAt       time.Time `json:"started_at"`
	FinishedAt      time.Time `json:"finished_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	Processed       int64     `json:"processed"`
	Created         int64     `json:"created"`
	Updated         int64     `json:"updated"`
	Unchanged       int64     `json:"unchanged"`
	Filtered        int64     `json:"filtered"`
	Rejected        int64     `json:"rejected"`
	Failed          int64     `json:"failed"`
	Duplicates      int64     `json:"duplicates"`
	Error           string    `json:"error,omitempty"`
}

// FileStatus is one pipeline file's last load.
type FileStatus struct {
	File                 string     `json:"file"`
	Pipeline             string     `json:"pipeline,omitempty"` // of the running plan
	Hash                 string     `json:"hash,omitempty"`
	LastReloadSuccessful bool       `json:"last_reload_successful"`
	LastReloadAt         time.Time  `json:"last_reload_at"`
	LastReloadSuccessAt  *time.Time `json:"last_reload_success_at,omitempty"`
	Problems             diag.List  `json:"problems"`
}

func runStatusOf(s *sink.Sync, err error) *RunStatus {
	r := &RunStatus{SyncID: s.ID, Status: s.Status, PlanHash: s.PlanHash, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
		DurationSeconds: s.Duration.Seconds(), Processed: s.Processed, Created: s.Created, Updated: s.Updated,
		Unchanged: s.Unchanged, Filtered: s.Filtered, Rejected: s.Rejected, Failed: s.Failed, Duplicates: s.Duplicates}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Status is a snapshot of the scheduler.
func (s *Scheduler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Version: s.o.Version, Dir: s.o.Dir, StartedAt: s.started, Now: time.Now(), Problems: diag.List{}}
	if s.q != nil {
		qs := s.queueStatus
		qs.ClientID = s.q.id()
		st.Queue = &qs
	}
	byName := map[string]*PipelineStatus{}
	var names []string
	for _, j := range s.jobs {
		p := byName[j.key.pipeline]
		if p == nil {
			p = &PipelineStatus{Name: j.key.pipeline, File: j.file, Hash: j.plan.Hash, Schedule: j.schedText}
			byName[j.key.pipeline] = p
			names = append(names, j.key.pipeline)
		}
		if !j.removed { // a removed job's plan may be older than its pipeline's
			p.File, p.Hash, p.Schedule = j.file, j.plan.Hash, j.schedText
		}
		es := j.status()
		if s.pausedSet.has(j.key) && !j.removed && !j.running {
			es.State = StatePaused
		}
		p.Entities = append(p.Entities, es)
	}
	slices.Sort(names)
	for _, n := range names {
		p := byName[n]
		slices.SortFunc(p.Entities, func(a, b EntityStatus) int { return cmp.Compare(a.Name, b.Name) })
		st.Pipelines = append(st.Pipelines, *p)
	}
	for _, f := range s.files {
		fs := FileStatus{File: f.path, LastReloadSuccessful: f.lastOK, LastReloadAt: f.lastAttempt,
			LastReloadSuccessAt: timePtr(f.lastSuccess), Problems: f.problems}
		if fs.Problems == nil {
			fs.Problems = diag.List{}
		}
		if f.plan != nil {
			fs.Pipeline, fs.Hash = f.plan.Name, f.plan.Hash
		}
		st.Files = append(st.Files, fs)
		st.Problems = append(st.Problems, f.problems...)
	}
	slices.SortFunc(st.Files, func(a, b FileStatus) int { return cmp.Compare(a.File, b.File) })
	st.Problems = st.Problems.Sort()
	if st.Pipelines == nil {
		st.Pipelines = []PipelineStatus{}
	}
	if st.Files == nil {
		st.Files = []FileStatus{}
	}
	return st
}

func (j *job) status() EntityStatus {
	e := EntityStatus{Name: j.key.entity, NextRun: timePtr(j.next), LastRun: j.last, LastSuccess: timePtr(j.lastSuccess),
		LastError: j.lastErr, LastErrorAt: timePtr(j.lastErrAt), ConsecutiveFailures: j.failures, Watermark: j.watermark}
	if j.running {
		e.Running = &Progress{Since: j.started, Pages: j.progress.Pages, Records: j.progress.Records}
	}
	switch {
	case j.removed:
		e.State = StateStopping
	case j.running:
		e.State = StateRunning
	case j.elsewhere:
		e.State = StateElsewhere
	case j.failures > 1:
		e.State = StateBackingOff
	case j.failures == 1:
		e.State = StateFailing
	case j.sched == nil:
		e.State = StateNotScheduled
	default:
		e.State = StateIdle
	}
	return e
}
