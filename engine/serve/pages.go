package serve

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// recentRuns is how many of an entity's last syncs /status reads for
// its throughput.
const recentRuns = 10

// fillRecent reads each entity's last finished syncs from its
// destination's history (every replica's, not only this process's).
func (s *Scheduler) fillRecent(ctx context.Context, st *Status) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for pi := range st.Pipelines {
		p := &st.Pipelines[pi]
		dest := s.destFor(p.Name)
		for ei := range p.Entities {
			e := &p.Entities[ei]
			hist, err := dest.History(ctx, sink.Filter{Pipeline: p.Name, Entity: e.Name, Limit: recentRuns})
			if err != nil {
				continue
			}
			for _, h := range hist {
				if h.Status == sink.StatusRunning {
					continue
				}
				e.Recent = append(e.Recent, RecentRun{SyncID: h.ID, Status: h.Status, StartedAt: h.StartedAt, Processed: h.Processed,
					DurationSeconds: h.Duration.Seconds(), RecordsPerSecond: h.RecordsPerSecond})
			}
		}
	}
}

// ago is a time relative to now ("3 min ago", "in 20 s"), with the
// absolute time as its title.
func ago(t any, now time.Time) template.HTML {
	var v time.Time
	switch x := t.(type) {
	case time.Time:
		v = x
	case *time.Time:
		if x != nil {
			v = *x
		}
	}
	if v.IsZero() {
		return "—"
	}
	abs := v.UTC().Format("2006-01-02 15:04:05Z")
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`, v.UTC().Format(time.RFC3339), abs, relative(v, now)))
}

func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// throughput is the records per second of the last runs that read
// anything: their mean, and each, newest first.
func throughput(runs []RecentRun) string {
	var rates []string
	sum, n := 0.0, 0
	for _, r := range runs {
		if r.Processed == 0 || r.DurationSeconds <= 0 {
			continue
		}
		rate := float64(r.Processed) / r.DurationSeconds
		sum += rate
		n++
		rates = append(rates, fmt.Sprintf("%.0f", rate))
	}
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%s rec/s (mean of %d: %s)", group(math.Round(sum/float64(n))), n, strings.Join(rates, " · "))
}

// group writes 12345 as 12,345.
func group(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

//go:embed history.html
var historyHTML string

var listPage = template.Must(template.New("list").Funcs(pageFuncs).Parse(historyHTML))

// listView is the data of the history and rejects pages.
type listView struct {
	Title, Kind      string
	Pipeline, Entity string
	Now              time.Time
	Syncs            []SyncRow
	Rejects          []sink.StoredReject
	Next             string // the URL of the older page; empty: none
	Error            string
}

// serveList renders /history or /rejects: the JSON API's page as HTML.
func (s *Scheduler) serveList(w http.ResponseWriter, r *http.Request, kind string) {
	v := listView{Kind: kind, Title: kind, Now: time.Now()}
	f, err := pageFilter(r)
	v.Pipeline, v.Entity = f.Pipeline, f.Entity
	if v.Pipeline != "" {
		v.Title += " of " + strings.TrimSpace(v.Pipeline+" "+v.Entity)
	}
	code := http.StatusOK
	if err == nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		dest := s.destFor(f.Pipeline)
		var n int
		var last int64
		if kind == "history" {
			var rows []sink.Sync
			if rows, err = dest.History(ctx, f); err == nil {
				for _, h := range rows {
					v.Syncs = append(v.Syncs, SyncRow{Sync: h, DurationSeconds: h.Duration.Seconds()})
				}
				if n = len(rows); n > 0 {
					last = rows[n-1].ID
				}
			}
		} else {
			if v.Rejects, err = dest.Rejects(ctx, f); err == nil {
				if n = len(v.Rejects); n > 0 {
					last = v.Rejects[n-1].ID
				}
			}
		}
		if err == nil && n == f.Limit {
			q := r.URL.Query()
			q.Set("before", fmt.Sprint(last))
			v.Next = "/" + kind + "?" + q.Encode()
		}
		if err != nil {
			code = http.StatusInternalServerError
		}
	} else {
		code = http.StatusBadRequest
	}
	if err != nil {
		v.Error = err.Error()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := listPage.Execute(w, v); err != nil {
		s.log.Error("rendering the " + kind + " page: " + err.Error())
	}
}
