package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/schedule"
	"github.com/crmsync/crmsync/engine/sink"
)

// fileState is what the Scheduler knows of one pipeline file.
type fileState struct {
	path string
	sum  [sha256.Size]byte // content of the last load attempt
	// plan is the plan running for this file: the last one that loaded
	// clean. A later broken edit leaves it in place.
	plan        *pipeline.Plan
	problems    diag.List // errors of the last attempt; nil when it was clean
	lastOK      bool
	lastAttempt time.Time
	lastSuccess time.Time
}

// Reload reads the folder again and applies what changed, like
// Prometheus: a file whose plan hash is unchanged is left alone, a
// changed one is swapped in for each entity's next run, a broken one keeps
// its last good plan, a vanished one stops. With force every file is
// loaded again even when its bytes did not change (SIGHUP: a secret in the
// environment or a ${file:…} may have). It returns the problems of the
// files that are not clean now.
func (s *Scheduler) Reload(force bool) diag.List {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	paths, err := pipeline.ListDir(s.o.Dir)
	if err != nil {
		s.log.Error("reading the pipeline folder: "+err.Error(), "dir", s.o.Dir)
		return diag.List{{File: s.o.Dir, Line: 1, Column: 1, Severity: diag.Error, Code: "io", Message: "cannot read the folder"}}
	}
	// Read everything first and drop what is gone, so that a file taking
	// over the name of a removed one loads in the same rescan.
	type read struct {
		path   string // the file, or with tenants file#tenant
		file   string
		data   []byte
		err    error
		tenant *Tenant
	}
	var files []read
	seen := map[string]bool{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone since the listing (or a dangling symlink)
		}
		if err == nil && !pipeline.IsPipeline(data) && pipeline.IsYAML(data) && !s.known(path) && !s.known(path+"#"+s.firstTenant()) {
			continue // YAML that is not a pipeline file: not ours
		}
		// A known file that stops parsing (an editor's half-saved file)
		// is still ours: it fails to load, and its running plan stays.
		// So is a new file that is not YAML at all, so its error shows.
		if len(s.o.Tenants) == 0 {
			seen[path] = true
			files = append(files, read{path: path, file: path, data: data, err: err})
			continue
		}
		for i := range s.o.Tenants {
			t := &s.o.Tenants[i]
			key := path + "#" + t.Name
			seen[key] = true
			files = append(files, read{path: key, file: path, data: data, err: err, tenant: t})
		}
	}
	s.mu.Lock()
	for path := range s.files {
		if !seen[path] {
			s.removeFile(path)
		}
	}
	s.mu.Unlock()

	var problems diag.List
	var added []*job
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		s.mu.Lock()
		st := s.files[f.path]
		s.mu.Unlock()
		if !force && st != nil && st.sum == sum && !hasCode(st.problems, "duplicate-pipeline") {
			problems = append(problems, st.problems...)
			continue
		}
		if f.err != nil {
			problems = append(problems, s.failed(f.path, sum, diag.List{{File: f.path, Line: 1, Column: 1, Severity: diag.Error, Code: "io",
				Message: "cannot read the file: " + f.err.Error()}})...)
			continue
		}
		po := pipeline.Options{Profile: s.o.Profile, StrictEnv: true}
		if f.tenant != nil {
			po = f.tenant.Options(po)
		}
		plan, findings := pipeline.Load(f.file, f.data, po)
		if plan != nil && f.tenant != nil {
			f.tenant.Apply(plan)
			s.mu.Lock()
			if f.tenant.Dest != nil {
				s.dests[plan.Name] = f.tenant.Dest
			}
			s.mu.Unlock()
		}
		if f.tenant != nil {
			for i := range findings {
				findings[i].Message = "tenant " + f.tenant.Name + ": " + findings[i].Message
			}
		}
		for _, w := range findings {
			if w.Severity != diag.Error {
				s.log.Warn(position(w), "file", w.File, "code", w.Code)
			}
		}
		if plan == nil {
			problems = append(problems, s.failed(f.path, sum, findings.Errors())...)
			continue
		}
		bad, jobs := s.apply(f.path, sum, plan, f.data)
		problems = append(problems, bad...)
		added = append(added, jobs...)
	}
	s.mu.Lock()
	s.loaded = true
	s.mu.Unlock()
	s.recall(added)
	s.syncPeriodic()
	s.poke()
	return problems
}

func (s *Scheduler) firstTenant() string {
	if len(s.o.Tenants) == 0 {
		return ""
	}
	return s.o.Tenants[0].Name
}

// known reports whether path was loaded or tried before.
func (s *Scheduler) known(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[path] != nil
}

// position formats a finding as path:line:col: message.
func position(f diag.Finding) string {
	return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Column, f.Message)
}

// failed records a load that did not come out clean; the running plan,
// if any, stays.
func (s *Scheduler) failed(path string, sum [sha256.Size]byte, problems diag.List) diag.List {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.fileLocked(path)
	st.sum, st.lastOK, st.lastAttempt, st.problems = sum, false, time.Now(), problems
	kept := "it is not loaded"
	if st.plan != nil {
		kept = "the running plan (hash " + st.plan.Hash + ") is kept"
	}
	s.log.Error(fmt.Sprintf("Pipeline file %s has %d problem(s); %s", path, len(problems), kept), "file", path)
	for _, f := range problems {
		s.log.Error(position(f), "file", f.File, "line", f.Line, "column", f.Column, "code", f.Code)
	}
	s.metrics.reloadOK.WithLabelValues(path).Set(0)
	s.metrics.problems.WithLabelValues(path).Set(float64(len(problems)))
	return problems
}

func (s *Scheduler) fileLocked(path string) *fileState {
	st := s.files[path]
	if st == nil {
		st = &fileState{path: path}
		s.files[path] = st
	}
	return st
}

// apply puts a clean plan in place and returns the jobs it created.
func (s *Scheduler) apply(path string, sum [sha256.Size]byte, plan *pipeline.Plan, data []byte) (diag.List, []*job) {
	s.mu.Lock()
	for other, ost := range s.files {
		if other != path && ost.plan != nil && ost.plan.Name == plan.Name {
			s.mu.Unlock()
			return s.failed(path, sum, diag.List{{File: path, Line: nameLine(data), Column: 1, Severity: diag.Error, Code: "duplicate-pipeline",
				Message: fmt.Sprintf("pipeline name %q is already used by %s: each file needs a name of its own", plan.Name, other)}}), nil
		}
	}
	defer s.mu.Unlock()
	now := time.Now()
	st := s.fileLocked(path)
	old := st.plan
	st.sum, st.lastOK, st.lastAttempt, st.lastSuccess, st.problems = sum, true, now, now, nil
	s.metrics.reloadOK.WithLabelValues(path).Set(1)
	s.metrics.reloadTS.WithLabelValues(path).Set(float64(now.UnixMilli()) / 1000)
	s.metrics.problems.WithLabelValues(path).Set(0)
	if old != nil && old.Hash == plan.Hash {
		s.log.Debug("Pipeline file unchanged", "file", path, "pipeline", plan.Name, "hash", plan.Hash)
		return nil, nil
	}
	st.plan = plan
	s.metrics.planInfo.DeletePartialMatch(map[string]string{"file": path})
	s.metrics.planInfo.WithLabelValues(plan.Name, path, plan.Hash).Set(1)
	sch, text := s.scheduleOf(plan)
	want := map[jobKey]bool{}
	var added []*job
	for _, e := range plan.Entities {
		k := jobKey{plan.Name, e.Name}
		want[k] = true
		j := s.jobs[k]
		if j == nil {
			j = &job{key: k, sched: sch, schedText: text}
			j.next = j.first(now)
			if s.once {
				j.next = now
			}
			s.jobs[k] = j
			added = append(added, j)
		} else if j.schedText != text {
			j.sched, j.schedText = sch, text
			if !j.running {
				j.next = j.first(now)
				if sch != nil && !j.started.IsZero() {
					j.next = maxTime(sch.Next(j.started), now)
				}
			}
		}
		j.removed = false
		j.file, j.plan, j.ent = path, plan, e
		s.setNext(j)
	}
	for k, j := range s.jobs {
		if j.file == path && !want[k] {
			s.dropJob(j)
		}
	}
	if old == nil {
		s.log.Info(fmt.Sprintf("Loaded pipeline %s from %s", plan.Name, path), "file", path, "pipeline", plan.Name, "hash", plan.Hash,
			"entities", len(plan.Entities), "schedule", text)
	} else {
		s.log.Info(fmt.Sprintf("Reloaded pipeline %s from %s: the new plan is used from each entity's next run", plan.Name, path),
			"file", path, "pipeline", plan.Name, "hash", plan.Hash, "previous_hash", old.Hash, "schedule", text)
	}
	return nil, added
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// scheduleOf is the plan's schedule, or the default one.
func (s *Scheduler) scheduleOf(plan *pipeline.Plan) (schedule.Schedule, string) {
	if plan.Schedule == "" {
		return s.defSched, s.o.DefaultSchedule
	}
	sch, err := schedule.Parse(plan.Schedule)
	if err != nil { // lint checked it; keep the entity unscheduled rather than guess
		return nil, ""
	}
	return sch, plan.Schedule
}

// dropJob stops a job's schedule; a running sync finishes first.
func (s *Scheduler) dropJob(j *job) {
	if j.running {
		j.removed = true
		return
	}
	delete(s.jobs, j.key)
	s.metrics.forgetEntity(j.key.pipeline, j.key.entity)
	s.log.Info("Stopped the schedule of a removed entity", "pipeline", j.key.pipeline, "entity", j.key.entity)
}

func (s *Scheduler) removeFile(path string) {
	st := s.files[path]
	delete(s.files, path)
	for _, j := range s.jobs {
		if j.file == path {
			s.dropJob(j)
		}
	}
	s.metrics.forgetFile(path)
	if st != nil && st.plan != nil {
		s.log.Info(fmt.Sprintf("Pipeline file %s is gone: the schedules of %s stop (a running sync finishes first)", path, st.plan.Name),
			"file", path, "pipeline", st.plan.Name)
	}
}

// recall fills new jobs' last run and watermark from the destination, so
// the status page knows what happened before this process started (or on
// another replica).
func (s *Scheduler) recall(jobs []*job) {
	for _, j := range jobs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		dest := s.destFor(j.key.pipeline)
		hist, herr := dest.History(ctx, sink.Filter{Pipeline: j.key.pipeline, Entity: j.key.entity, Limit: 1})
		cp, cerr := dest.Checkpoint(ctx, j.key.pipeline, j.key.entity)
		cancel()
		s.mu.Lock()
		if herr == nil && len(hist) > 0 && j.last == nil {
			h := hist[0]
			var err error
			if len(h.Errors) > 0 {
				err = errors.New(h.Errors[len(h.Errors)-1])
			}
			j.last = runStatusOf(&h, err)
			if h.Status == sink.StatusSuccess || h.Status == sink.StatusPartial {
				j.lastSuccess = h.FinishedAt
				s.metrics.lastSuccess.WithLabelValues(j.key.pipeline, j.key.entity).Set(float64(h.FinishedAt.UnixMilli()) / 1000)
			}
		}
		if cerr == nil && j.watermark == "" && cp.Watermark != "" {
			j.watermark = cp.Watermark
			s.setWatermark(j.key.pipeline, j.key.entity, cp.Watermark)
		}
		s.mu.Unlock()
	}
}

// hasCode: a name clash depends on the other files, so a file that had
// one is tried again on every rescan.
func hasCode(l diag.List, code string) bool {
	for _, f := range l {
		if f.Code == code {
			return true
		}
	}
	return false
}

// nameLine finds the line of the top-level name: key, for a finding.
func nameLine(data []byte) int {
	for i, line := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("name:")) {
			return i + 1
		}
	}
	return 1
}
