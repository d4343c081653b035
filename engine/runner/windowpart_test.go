package runner_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
)

// windowed is an API that filters its records by ?from=&to= (a time
// window [from, to), RFC 3339) and pages them with ?after=<id>; it counts
// the requests of each window and how often each record was served.
type windowed struct {
	mu       sync.Mutex
	items    []windowItem           // by id
	requests map[[2]string][]string // window → the after of each request
	served   map[int]int
	onReq    func(n int) // called with the request count, before answering
	// ignoreFrom: the server answers every record before to, whatever
	// from says (records outside the window).
	ignoreFrom bool
	n          int
}

type windowItem struct {
	ID int
	At time.Time
}

// skewedTimes: most records in the last days before now, a cluster at
// the start, a few spread between: equal time windows hold very unequal
// shares.
func skewedTimes(start, now time.Time) []windowItem {
	var out []windowItem
	add := func(t time.Time) { out = append(out, windowItem{ID: len(out) + 1, At: t.UTC().Truncate(time.Second)}) }
	for i := range 900 {
		add(now.Add(-time.Duration(i+1) * 7 * time.Minute)) // the last ~4 days
	}
	for i := range 80 {
		add(start.Add(time.Duration(i) * time.Hour)) // the first days
	}
	span := now.Sub(start)
	for i := range 20 {
		add(start.Add(span * time.Duration(i+1) / 22))
	}
	return out
}

func newWindowed(items []windowItem) *windowed {
	return &windowed{items: items, requests: map[[2]string][]string{}, served: map[int]int{}}
}

func (w *windowed) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err1 := time.Parse(time.RFC3339, q.Get("from"))
	to, err2 := time.Parse(time.RFC3339, q.Get("to"))
	if err1 != nil || err2 != nil {
		http.Error(rw, "from and to are required", http.StatusBadRequest)
		return
	}
	after, _ := strconv.Atoi(q.Get("after"))
	w.mu.Lock()
	w.n++
	n := w.n
	w.requests[[2]string{q.Get("from"), q.Get("to")}] = append(w.requests[[2]string{q.Get("from"), q.Get("to")}], q.Get("after"))
	hook := w.onReq
	w.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	var page []map[string]any
	next := ""
	w.mu.Lock()
	for _, it := range w.items {
		if it.ID <= after || (it.At.Before(from) && !w.ignoreFrom) || !it.At.Before(to) {
			continue
		}
		if len(page) == 25 {
			next = strconv.Itoa(page[len(page)-1]["id"].(int))
			break
		}
		page = append(page, map[string]any{"id": it.ID, "updated_at": it.At.Format(time.RFC3339)})
	}
	for _, p := range page {
		w.served[p["id"].(int)]++
	}
	w.mu.Unlock()
	json.NewEncoder(rw).Encode(map[string]any{"results": page, "next": next})
}

func windowPlan(t *testing.T, url, settings, start string) *pipeline.Plan {
	t.Helper()
	src := fmt.Sprintf(`version: 1
name: part
source: {type: http, base_url: %q}
entities:
  job:
    request: {path: /items, params: {from: "{{ window.start }}", to: "{{ window.end }}"}}
    records: results
    paginate: {style: cursor, cursor: next, param: after}
    primary_key: [id]
    batch_size: 25
    %s
    incremental: {field: updated_at, start: %q}
    fields:
      id: {type: integer}
      updated_at: {type: datetime}
`, url, settings, start)
	plan, f := pipeline.Load("part.yaml", []byte(src), pipeline.Options{})
	if plan == nil || f.HasErrors() {
		t.Fatal(f)
	}
	return plan
}

func itemIDs(items []windowItem) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = int64(it.ID)
	}
	return out
}

// windows are the distinct windows the server was asked for, in order.
func (w *windowed) windows() [][2]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out [][2]string
	for k := range w.requests {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// TestWindowPartitionsExactlyOnce: partitions: 4 (and partition_every)
// split the first sync of an http entity into time windows that tile
// [incremental.start, the sync's start); every record is served and
// lands once although the windows hold very unequal shares; one history
// row per window; the watermark is the newest record's time; the next
// run is one incremental stream.
func TestWindowPartitionsExactlyOnce(t *testing.T) {
	now := time.Now().UTC()
	start := now.Add(-30 * 24 * time.Hour).Truncate(time.Second)
	for _, c := range []struct {
		name, setting string
		windows       int
		parallel      int
	}{
		{"partitions 4", "partitions: 4", 4, 4},
		{"partitions 3 on 2 goroutines", "partitions: 3", 3, 2},
		{"partition_every 7d", "partition_every: 7d", 5, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			items := skewedTimes(start, now.Add(-time.Minute))
			srv := newWindowed(items)
			ts := httptest.NewServer(srv)
			defer ts.Close()
			dest, pg := openPostgres(t)
			plan := windowPlan(t, ts.URL, c.setting, start.Format(time.RFC3339))
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Parallel: c.parallel})
			if r.Err != nil || r.Status != sink.StatusSuccess {
				t.Fatalf("sync: %s %v", r.Status, r.Err)
			}
			if r.Created != int64(len(items)) {
				t.Errorf("created %d, want %d", r.Created, len(items))
			}
			landed(t, pg, itemIDs(items))
			for id, n := range srv.served {
				if n != 1 {
					t.Errorf("record %d served %d times, want once", id, n)
				}
			}
			if len(srv.served) != len(items) {
				t.Errorf("%d records served, want %d", len(srv.served), len(items))
			}
			// The windows tile [start, now): each begins where the last ended.
			ws := srv.windows()
			if len(ws) != c.windows {
				t.Fatalf("the server saw %d windows %v, want %d", len(ws), ws, c.windows)
			}
			if ws[0][0] != start.Format(time.RFC3339) {
				t.Errorf("first window starts %s, want incremental.start %s", ws[0][0], start.Format(time.RFC3339))
			}
			for i := 1; i < len(ws); i++ {
				if ws[i][0] != ws[i-1][1] {
					t.Errorf("window %d starts %s, the one before ends %s: not adjacent", i, ws[i][0], ws[i-1][1])
				}
			}
			if end, err := time.Parse(time.RFC3339, ws[len(ws)-1][1]); err != nil || end.Before(now.Truncate(time.Second)) || end.After(time.Now()) {
				t.Errorf("last window ends %s, want the sync's start (about %s)", ws[len(ws)-1][1], now.Format(time.RFC3339))
			}
			hist, err := dest.History(context.Background(), sink.Filter{Pipeline: "part", Entity: "job"})
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != c.windows {
				t.Fatalf("%d history rows, want one per window (%d)", len(hist), c.windows)
			}
			var created int64
			for _, h := range hist {
				created += h.Created
			}
			if created != int64(len(items)) {
				t.Errorf("history created adds up to %d, want %d", created, len(items))
			}
			st := stateRows(t, pg)
			newest := items[0].At // the newest record
			if len(st) != 1 || !strings.HasPrefix(st["job"][0], newest.Format("2006-01-02T15:04:05")) {
				t.Errorf("state after the backfill: %v, want only job's checkpoint with watermark %s", st, newest.Format(time.RFC3339))
			}
			// The next run: one incremental stream from the watermark.
			r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
			if r.Err != nil || r.Created != 0 {
				t.Fatalf("incremental run: created %d, %v", r.Created, r.Err)
			}
			if hist, _ = dest.History(context.Background(), sink.Filter{Pipeline: "part", Entity: "job"}); len(hist) != c.windows+1 {
				t.Errorf("%d history rows after an incremental run, want %d", len(hist), c.windows+1)
			}
			// Its request's window runs from the watermark to now.
			found := false
			for _, w := range srv.windows() {
				found = found || w[0] == newest.Format(time.RFC3339)
			}
			if !found {
				t.Errorf("no request of the incremental run starts at the watermark %s: %v", newest.Format(time.RFC3339), srv.windows())
			}
		})
	}
}

// TestWindowPartitionsOutsideWindow: a server that returns records
// before the window it was asked for: they are kept, and each lands once
// (upsert); created counts each row once, processed more.
func TestWindowPartitionsOutsideWindow(t *testing.T) {
	now := time.Now().UTC()
	start := now.Add(-30 * 24 * time.Hour).Truncate(time.Second)
	items := skewedTimes(start, now.Add(-time.Minute))
	srv := newWindowed(items)
	srv.ignoreFrom = true
	ts := httptest.NewServer(srv)
	defer ts.Close()
	dest, pg := openPostgres(t)
	plan := windowPlan(t, ts.URL, "partitions: 4", start.Format(time.RFC3339))
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Parallel: 4})
	if r.Err != nil || r.Status != sink.StatusSuccess {
		t.Fatalf("sync: %s %v", r.Status, r.Err)
	}
	landed(t, pg, itemIDs(items))
	twice := 0
	for _, n := range srv.served {
		if n > 1 {
			twice++
		}
	}
	if twice == 0 || r.Processed <= int64(len(items)) {
		t.Errorf("%d records served more than once, %d processed: the server should have overlapped windows", twice, r.Processed)
	}
	if r.Created != int64(len(items)) {
		t.Errorf("created %d, want each of the %d rows once", r.Created, len(items))
	}
	if st := stateRows(t, pg); len(st) != 1 || !strings.HasPrefix(st["job"][0], items[0].At.Format("2006-01-02T15:04:05")) {
		t.Errorf("state: %v", st)
	}
}

// TestWindowPartitionsResume: a backfill cancelled mid-way leaves no
// watermark, the plan and each window's own position; the next run
// sends no request for a window read to its end, continues every other
// from its stored cursor, and ends exact.
func TestWindowPartitionsResume(t *testing.T) {
	now := time.Now().UTC()
	start := now.Add(-30 * 24 * time.Hour).Truncate(time.Second)
	items := skewedTimes(start, now.Add(-time.Minute))
	srv := newWindowed(items)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dest, pg := openPostgres(t)
	srv.onReq = func(n int) {
		if n != 20 {
			return
		}
		// Mid-way (about 42 pages in all): once a window has committed a
		// position (rows alone may be a batch inside a window's first
		// page, which stores none), cancel while this request is held.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !windowProgressed(pg); time.Sleep(5 * time.Millisecond) {
		}
		cancel()
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	plan := windowPlan(t, ts.URL, "partitions: 4", start.Format(time.RFC3339))
	r := runner.Sync(ctx, plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Parallel: 4})
	if r.Err == nil {
		t.Fatalf("the cancelled backfill succeeded")
	}
	st := stateRows(t, pg)
	if st["job"][0] != "" {
		t.Errorf("watermark %q after an unfinished backfill, want none", st["job"][0])
	}
	if _, ok := st["job#plan"]; !ok {
		t.Fatalf("no stored plan after an unfinished backfill: %v", st)
	}
	var plan1 struct {
		Ranges []struct{ Lo, Hi string }
	}
	if err := json.Unmarshal([]byte(st["job#plan"][1]), &plan1); err != nil || len(plan1.Ranges) != 4 {
		t.Fatalf("stored plan %s: %v", st["job#plan"][1], err)
	}
	type pos struct {
		Resume string
		Done   bool
	}
	stored := map[[2]string]pos{}
	for i, rg := range plan1.Ranges {
		var p pos
		if v, ok := st[fmt.Sprintf("job#p%d", i)]; ok {
			json.Unmarshal([]byte(v[1]), &p)
		}
		stored[[2]string{rg.Lo, rg.Hi}] = p
	}
	kept := 0
	for _, p := range stored {
		if p.Resume != "" || p.Done {
			kept++
		}
	}
	if kept == 0 {
		t.Fatalf("no window stored its progress: %v", st)
	}
	var first int
	pg.QueryRow("SELECT count(*) FROM part_job").Scan(&first)

	srv.mu.Lock()
	srv.onReq, srv.requests, srv.served = nil, map[[2]string][]string{}, map[int]int{}
	srv.mu.Unlock()
	r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Parallel: 4})
	if r.Err != nil {
		t.Fatalf("resumed backfill: %v", r.Err)
	}
	for w, p := range stored {
		got := srv.requests[w]
		switch {
		case p.Done && len(got) > 0:
			t.Errorf("window %v was read to its end, yet the resumed run asked for it %d times", w, len(got))
		case !p.Done && len(got) == 0:
			t.Errorf("window %v was not finished, and the resumed run did not read it", w)
		case !p.Done && p.Resume != "" && got[0] != p.Resume:
			t.Errorf("window %v: the resumed run started after=%q, want its stored cursor %q", w, got[0], p.Resume)
		}
	}
	if r.Processed+int64(first) < int64(len(items)) || r.Processed >= int64(len(items)) {
		t.Errorf("the resumed run read %d records with %d committed before, of %d", r.Processed, first, len(items))
	}
	landed(t, pg, itemIDs(items))
	if st := stateRows(t, pg); len(st) != 1 || st["job"][0] == "" {
		t.Errorf("state after the resumed backfill: %v", st)
	}
}

// TestWindowPartitionsWatermark: as River jobs (Options.Dispatch, then
// SyncStoredPartition one by one), the entity's watermark stays unset
// until the last window committed, then is the newest over all windows —
// although the newest record lies in the first one to run.
func TestWindowPartitionsWatermark(t *testing.T) {
	now := time.Now().UTC()
	start := now.Add(-30 * 24 * time.Hour).Truncate(time.Second)
	items := skewedTimes(start, now.Add(-time.Minute))
	ts := httptest.NewServer(newWindowed(items))
	defer ts.Close()
	dest, pg := openPostgres(t)
	plan := windowPlan(t, ts.URL, "partitions: 4", start.Format(time.RFC3339))
	e := plan.Entities[0]
	var id string
	var n int
	r := runner.Sync(context.Background(), plan, e, runner.Options{Dest: dest, Logger: quiet(), Dispatch: func(_ context.Context, plan string, parts int) error {
		id, n = plan, parts
		return nil
	}})
	if r.Err != nil || !r.Dispatched || n != 4 {
		t.Fatalf("planning: dispatched %v, %d partitions, %v", r.Dispatched, n, r.Err)
	}
	for _, i := range []int{3, 0, 2, 1} {
		if wm := stateRows(t, pg)["job"][0]; wm != "" {
			t.Fatalf("watermark %q before partition %d committed, want none", wm, i)
		}
		r := runner.SyncStoredPartition(context.Background(), plan, e, runner.Options{Dest: dest, Logger: quiet()}, id, i)
		if r.Err != nil || r.Status != sink.StatusSuccess {
			t.Fatalf("partition %d: %s %v", i, r.Status, r.Err)
		}
	}
	st := stateRows(t, pg)
	if len(st) != 1 || !strings.HasPrefix(st["job"][0], items[0].At.Format("2006-01-02T15:04:05")) {
		t.Errorf("state after every window committed: %v, want the newest time %s", st, items[0].At.Format(time.RFC3339))
	}
	landed(t, pg, itemIDs(items))
	// A job of the finished backfill does nothing.
	if r := runner.SyncStoredPartition(context.Background(), plan, e, runner.Options{Dest: dest, Logger: quiet()}, id, 0); !r.NothingToDo {
		t.Errorf("a partition of a finished backfill: %+v, want nothing to do", r.Sync)
	}
}

// TestWindowPartitionsCompileErrors: what time-window partitions need
// says so, naming the entity.
func TestWindowPartitionsCompileErrors(t *testing.T) {
	entity := func(req, extra string) string {
		return `version: 1
name: p
source: {type: http, base_url: "http://127.0.0.1:1"}
entities:
  calls:
    request: ` + req + `
    primary_key: [id]
` + extra + `    fields: {id: {type: integer}, updated_at: {type: datetime}}
`
	}
	win := `{path: /x, params: {from: "{{ window.start }}", to: "{{window.end}}"}}`
	inc := "    incremental: {field: updated_at, start: -30d}\n"
	for _, c := range []struct{ name, src, want string }{
		{"no window variables", entity(`{path: /x, params: {since: "{{ watermark }}"}}`, inc+"    partitions: 4\n"),
			`entity "calls": time-window partitions need its request (or job.start) to filter by {{ window.start }} and {{ window.end }}`},
		{"only window.start", entity(`{path: /x, params: {from: "{{ window.start }}"}}`, inc+"    partitions: 4\n"), "{{ window.end }}"},
		{"no incremental start", entity(win, "    incremental: {field: updated_at}\n    partitions: 4\n"), `entity "calls": time-window partitions need incremental.start`},
		{"no incremental", entity(win, "    partitions: 4\n"), "need incremental.start"},
		{"partition_rows", entity(win, inc+"    partition_rows: 5000\n"), "partition_rows is for sql sources"},
		{"both", entity(win, inc+"    partitions: 4\n    partition_every: 7d\n"), "sets both partitions and partition_every"},
		{"bad every", entity(win, inc+"    partition_every: 7 days\n"), `partition_every of entity "calls"`},
		{"short every", entity(win, inc+"    partition_every: 10s\n"), "shorter than a minute"},
		{"replace", entity(win, inc+"    partitions: 4\n    write: replace\n"), "partitions need write: upsert"},
		{"every on sql", `version: 1
name: p
source: {type: sql, driver: mysql, dsn: "root@tcp(127.0.0.1:3306)/test"}
entities:
  e:
    from: job
    primary_key: [id]
    partition_every: 7d
    fields: {id: {type: integer}}
`, "partition_every (time windows) is for http sources"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, f := pipeline.Load(c.name+".yaml", []byte(c.src), pipeline.Options{})
			if f == nil || !f.HasErrors() || !strings.Contains(f.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", f, c.want)
			}
		})
	}
	// Accepted: job.start with the window, body variables.
	ok := `version: 1
name: p
source: {type: http, base_url: "http://127.0.0.1:1"}
entities:
  calls:
    job:
      start: {method: POST, path: /reports, body: {filter: {from: "{{ window.start }}", to: "{{ window.end }}"}}}
      id: id
      poll: {path: "/reports/{{ job.id }}"}
      done_when: status == "done"
    request: {path: "/reports/{{ job.id }}/rows"}
    primary_key: [id]
    partition_every: 7d
    incremental: {field: updated_at, start: "2024-01-01"}
    fields: {id: {type: integer}, updated_at: {type: datetime}}
`
	if plan, f := pipeline.Load("ok.yaml", []byte(ok), pipeline.Options{}); plan == nil || f.HasErrors() {
		t.Errorf("a job whose start filters by the window: %v", f)
	} else if e := plan.Entities[0]; !e.Windows || e.PartitionEvery != 7*24*time.Hour {
		t.Errorf("compiled: windows %v every %s", e.Windows, e.PartitionEvery)
	}
}

// windowProgressed reports whether a window of the part pipeline's job
// has committed a resume position or finished.
func windowProgressed(pg *sql.DB) bool {
	rows, err := pg.Query("SELECT resume FROM crmsync_state WHERE pipeline = 'part' AND entity LIKE 'job#p%'")
	if err != nil {
		return false
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		var p struct {
			Resume string
			Done   bool
		}
		if rows.Scan(&v) == nil && json.Unmarshal([]byte(v), &p) == nil && (p.Resume != "" || p.Done) {
			return true
		}
	}
	return false
}
