package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// The read API: GET /api/entities, /api/history and /api/rejects, JSON.
// Like /status they need no token (the operator API's policy: read-only
// without it); only the POST endpoints change anything.
//
// History and rejects are newest first, in pages of limit rows (default
// 50, at most 500). A page whose rows fill the limit has next_before: the
// id to pass as before= for the next page. Ids only grow, so a page never
// repeats or skips a row when new syncs land in between.

const (
	defaultPage = 50
	maxPage     = 500
)

// EntityInfo is one entity in GET /api/entities.
type EntityInfo struct {
	Pipeline  string     `json:"pipeline"`
	Entity    string     `json:"entity"`
	State     string     `json:"state"`
	Schedule  string     `json:"schedule"` // empty: not scheduled
	NextRun   *time.Time `json:"next_run,omitempty"`
	Paused    bool       `json:"paused"`
	Watermark string     `json:"watermark,omitempty"`
	LastSync  *RunStatus `json:"last_sync,omitempty"`
	// LastSuccess is when the last successful (or partial) sync finished.
	LastSuccess *time.Time `json:"last_success,omitempty"`
	Running     *Progress  `json:"running,omitempty"`
}

// HistoryPage is GET /api/history.
type HistoryPage struct {
	Syncs      []SyncRow `json:"syncs"`
	NextBefore int64     `json:"next_before,omitempty"`
}

// SyncRow is one history row, with its duration in seconds.
type SyncRow struct {
	sink.Sync
	DurationSeconds float64 `json:"duration_seconds"`
}

// RejectsPage is GET /api/rejects.
type RejectsPage struct {
	Rejects    []sink.StoredReject `json:"rejects"`
	NextBefore int64               `json:"next_before,omitempty"`
}

type apiError struct {
	Error string `json:"error"`
}

func (s *Scheduler) readRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/entities", s.serveEntities)
	mux.HandleFunc("GET /api/history", s.serveHistory)
	mux.HandleFunc("GET /api/rejects", s.serveRejects)
	mux.HandleFunc("GET /history", func(w http.ResponseWriter, r *http.Request) { s.serveList(w, r, "history") })
	mux.HandleFunc("GET /rejects", func(w http.ResponseWriter, r *http.Request) { s.serveList(w, r, "rejects") })
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Entities lists every loaded entity, ordered by pipeline and entity.
func (s *Scheduler) Entities() []EntityInfo {
	st := s.Status()
	s.mu.Lock()
	paused := s.pausedSet
	s.mu.Unlock()
	out := []EntityInfo{}
	for _, p := range st.Pipelines {
		for _, e := range p.Entities {
			out = append(out, EntityInfo{Pipeline: p.Name, Entity: e.Name, State: e.State, Schedule: p.Schedule, NextRun: e.NextRun,
				Paused: paused.has(jobKey{p.Name, e.Name}), Watermark: e.Watermark, LastSync: e.LastRun,
				LastSuccess: e.LastSuccess, Running: e.Running})
		}
	}
	return out
}

func (s *Scheduler) serveEntities(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"entities": s.Entities()})
}

// pageFilter reads pipeline, entity, limit and before.
func pageFilter(r *http.Request) (sink.Filter, error) {
	q := r.URL.Query()
	f := sink.Filter{Pipeline: q.Get("pipeline"), Entity: q.Get("entity"), Limit: defaultPage}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return f, fmt.Errorf("limit=%q: want a number from 1 to %d", v, maxPage)
		}
		f.Limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return f, fmt.Errorf("before=%q: want the next_before of the previous page (a positive id)", v)
		}
		f.Before = n
	}
	if f.Entity != "" && f.Pipeline == "" {
		return f, fmt.Errorf("entity=%q needs pipeline= too", f.Entity)
	}
	return f, nil
}

func (s *Scheduler) serveHistory(w http.ResponseWriter, r *http.Request) {
	f, err := pageFilter(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"GET /api/history: " + err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	rows, err := s.destFor(f.Pipeline).History(ctx, f)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{"GET /api/history: " + err.Error()})
		return
	}
	page := HistoryPage{Syncs: make([]SyncRow, 0, len(rows))}
	for _, h := range rows {
		page.Syncs = append(page.Syncs, SyncRow{Sync: h, DurationSeconds: h.Duration.Seconds()})
	}
	if len(rows) == f.Limit {
		page.NextBefore = rows[len(rows)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Scheduler) serveRejects(w http.ResponseWriter, r *http.Request) {
	f, err := pageFilter(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"GET /api/rejects: " + err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	rows, err := s.destFor(f.Pipeline).Rejects(ctx, f)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{"GET /api/rejects: " + err.Error()})
		return
	}
	if rows == nil {
		rows = []sink.StoredReject{}
	}
	page := RejectsPage{Rejects: rows}
	if len(rows) == f.Limit {
		page.NextBefore = rows[len(rows)-1].ID
	}
	writeJSON(w, http.StatusOK, page)
}

// destFor is where a pipeline's syncs, checkpoints and history are: its
// tenant's destination (a schema of its own), else the process's.
func (s *Scheduler) destFor(pipeline string) sink.Destination {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.dests[pipeline]; d != nil {
		return d
	}
	return s.o.Dest
}
