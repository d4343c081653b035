package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The operator API: POST /api/run, /api/pause and /api/resume, each with
// the pipeline and (for run, required; for pause and resume, optional:
// the whole pipeline) the entity, as query parameters or a JSON body;
// POST /api/reload reloads every file on this replica (as SIGHUP).
// Each needs "Authorization: Bearer <token>" with Options.AdminToken;
// without a token configured the API refuses every change (read-only).
// Pauses are kept in the destination (crmsync_paused), so every replica
// honours them; a paused entity's ticks are skipped
// (crmsync_syncs_skipped_total{reason="paused"}) until it is resumed.

type adminRequest struct {
	Pipeline string `json:"pipeline"`
	Entity   string `json:"entity"`
}

type adminReply struct {
	OK        bool   `json:"ok"`
	Action    string `json:"action"`
	Pipeline  string `json:"pipeline,omitempty"`
	Entity    string `json:"entity,omitempty"`
	JobID     int64  `json:"job_id,omitempty"`
	Duplicate bool   `json:"duplicate,omitempty"` // a sync of the entity was already queued or running
	Problems  int    `json:"problems,omitempty"`  // reload: problems of the files that are not clean
	Error     string `json:"error,omitempty"`
}

func (s *Scheduler) adminRoutes(mux *http.ServeMux) {
	for _, action := range []string{"run", "pause", "resume", "reload"} {
		mux.HandleFunc("POST /api/"+action, func(w http.ResponseWriter, r *http.Request) { s.serveAdmin(w, r, action) })
	}
}

func (s *Scheduler) serveAdmin(w http.ResponseWriter, r *http.Request, action string) {
	reply := func(code int, rep adminReply) {
		rep.Action = action
		rep.OK = code < 300
		result := "ok"
		if !rep.OK {
			result = strings.ToLower(strings.ReplaceAll(http.StatusText(code), " ", "_"))
		}
		s.metrics.admin.WithLabelValues(action, result).Inc()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(rep)
	}
	if s.o.AdminToken == "" {
		reply(http.StatusForbidden, adminReply{Error: "read-only: serve was started without --admin-token"})
		return
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(token), []byte(s.o.AdminToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="crmsync"`)
		reply(http.StatusUnauthorized, adminReply{Error: "a valid Authorization: Bearer token is required"})
		return
	}
	var req adminRequest
	if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil && err != io.EOF {
			reply(http.StatusBadRequest, adminReply{Error: "the body is not JSON: " + err.Error()})
			return
		}
	}
	q := r.URL.Query()
	if req.Pipeline == "" {
		req.Pipeline = q.Get("pipeline")
	}
	if req.Entity == "" {
		req.Entity = q.Get("entity")
	}
	rep := adminReply{Pipeline: req.Pipeline, Entity: req.Entity}
	if action == "reload" {
		problems := s.Reload(true)
		s.log.Info(fmt.Sprintf("Operator: reload (%d problem(s))", len(problems)), "remote", r.RemoteAddr)
		rep.Problems = len(problems)
		reply(http.StatusOK, rep)
		return
	}
	if req.Pipeline == "" || (action == "run" && req.Entity == "") {
		rep.Error = "pipeline (and for run, entity) is required"
		reply(http.StatusBadRequest, rep)
		return
	}
	if !s.hasEntity(req.Pipeline, req.Entity) {
		rep.Error = "no such pipeline or entity loaded here"
		reply(http.StatusNotFound, rep)
		return
	}
	if s.q == nil {
		rep.Error = "this process does not schedule through River"
		reply(http.StatusConflict, rep)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	what := req.Pipeline
	if req.Entity != "" {
		what += " " + req.Entity
	}
	var err error
	switch action {
	case "run":
		res, ierr := s.q.insert(ctx, SyncArgs{Pipeline: req.Pipeline, Entity: req.Entity})
		if err = ierr; err == nil {
			rep.JobID, rep.Duplicate = res.Job.ID, res.UniqueSkippedAsDuplicate
			s.log.Info(fmt.Sprintf("Operator: run %s now (job %d, already queued: %v)", what, rep.JobID, rep.Duplicate),
				"pipeline", req.Pipeline, "entity", req.Entity, "remote", r.RemoteAddr)
		}
	case "pause", "resume":
		err = s.q.setPaused(ctx, req.Pipeline, req.Entity, action == "pause")
		if err == nil {
			s.log.Info(fmt.Sprintf("Operator: %s %s", action, what), "pipeline", req.Pipeline, "entity", req.Entity, "remote", r.RemoteAddr)
			s.refreshPaused(ctx)
		}
	}
	if err != nil {
		rep.Error = err.Error()
		reply(http.StatusInternalServerError, rep)
		return
	}
	reply(http.StatusOK, rep)
}

func (s *Scheduler) hasEntity(p, e string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, j := range s.jobs {
		if k.pipeline == p && (e == "" || k.entity == e) && !j.removed {
			return true
		}
	}
	return false
}

// refreshPaused reloads the pauses for /status and the gauge.
func (s *Scheduler) refreshPaused(ctx context.Context) {
	if s.q == nil {
		return
	}
	set, err := s.q.paused(ctx)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pausedSet = set
	for k := range s.jobs {
		s.metrics.paused.WithLabelValues(k.pipeline, k.entity).Set(b2f(set.has(k)))
	}
}

// pauses are the paused pipelines (entity "") and entities.
type pauses map[jobKey]bool

func (p pauses) has(k jobKey) bool { return p[k] || p[jobKey{k.pipeline, ""}] }
