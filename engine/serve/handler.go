package serve

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed status.html
var statusHTML string

var statusPage = template.Must(template.New("status").Funcs(pageFuncs).Parse(statusHTML))

var pageFuncs = template.FuncMap{
	"ago":        ago,
	"throughput": throughput,
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05Z")
		}
		return ""
	},
	"seconds": func(f float64) string {
		return (time.Duration(f * float64(time.Second))).Round(time.Millisecond).String()
	},
	"stateClass": func(s string) string {
		switch s {
		case StateFailing, StateBackingOff:
			return "bad"
		case StateRunning, StateElsewhere:
			return "busy"
		}
		return "ok"
	},
}

// Handler serves /healthz, /readyz, /metrics, /status, the admin API and
// the pipeline schema on one mux.
func (s *Scheduler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{Registry: s.metrics.Registry}))
	mux.HandleFunc("GET /status", s.serveStatus)
	s.adminRoutes(mux)
	schemaRoutes(mux)
	s.readRoutes(mux)
	mux.Handle(riverUIPrefix+"/", &riverUI{s: s})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status", http.StatusFound)
	})
	return mux
}

// Ready reports whether plans are loaded and the destination answers.
func (s *Scheduler) Ready(ctx context.Context) error {
	s.mu.Lock()
	loaded, plans := s.loaded, 0
	for _, f := range s.files {
		if f.plan != nil {
			plans++
		}
	}
	s.mu.Unlock()
	switch {
	case !loaded:
		return fmt.Errorf("the pipeline folder has not been loaded yet")
	case plans == 0:
		return fmt.Errorf("no pipeline file in %s loaded clean", s.o.Dir)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.o.Dest.Ping(ctx); err != nil {
		return fmt.Errorf("the destination does not answer: %w", err)
	}
	for _, t := range s.o.Tenants {
		if t.Dest != nil {
			if err := t.Dest.Ping(ctx); err != nil {
				return fmt.Errorf("the destination of tenant %s does not answer: %w", t.Name, err)
			}
		}
	}
	return nil
}

func (s *Scheduler) serveReady(w http.ResponseWriter, r *http.Request) {
	if err := s.Ready(r.Context()); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Scheduler) serveStatus(w http.ResponseWriter, r *http.Request) {
	st := s.Status()
	s.fillRecent(r.Context(), &st)
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(st)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, st); err != nil {
		s.log.Error("rendering the status page: " + err.Error())
	}
}

func wantsJSON(r *http.Request) bool {
	switch r.URL.Query().Get("format") {
	case "json":
		return true
	case "html":
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}
