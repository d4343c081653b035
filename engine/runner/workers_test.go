package runner_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/source/filesrc"
)

// sameJSONL writes n records with every kind of trouble the ordered pass
// must see in order: keys repeated within a batch and across batches,
// blank and null keys, poison values (NUL, bad UTF-8, a lone surrogate
// only _raw holds), rejects, filtered records, conversion warnings (more
// than ten per field, so some are counted and not printed), child arrays
// with rejected elements, and — at failAt, if above 0 — a record whose
// field fails the sync. A file page holds batch_size (100) records, so
// the first record of each page from the second on repeats a key of
// the page before.
func sameJSONL(t *testing.T, n, failAt int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf(`"%d"`, i)
		switch {
		case i%100 == 1 && i > 100:
			id = fmt.Sprintf(`"%d"`, i-2) // the previous page's
		case i%37 == 0:
			id = `""`
		case i%41 == 0:
			id = "null"
		case i%11 == 0:
			id = fmt.Sprintf(`"%d"`, i-3) // three records ago: same batch, mostly
		case i%101 == 0:
			id = `"1"` // the first batch's
		}
		email := fmt.Sprintf("u%d@example.com", i)
		if i%13 == 0 {
			email = "not-an-email"
		}
		notes := "fine"
		switch {
		case i%23 == 0:
			notes = `bad\u0000notes`
		case i%29 == 0:
			notes = "caf\xe9"
		}
		extra := "ok"
		if i%31 == 0 {
			extra = `\ud800`
		}
		name := fmt.Sprintf("n%d", i%7)
		if i%17 == 0 {
			name = "skip"
		}
		score := fmt.Sprintf("%d", i)
		if i%19 == 0 {
			score = `"lots"` // a warning, the record kept
		}
		code := "ok"
		if i == failAt {
			code = "boom"
		}
		var items []string
		for k := 0; k < i%4; k++ {
			qty := fmt.Sprintf("%d", k+1)
			if (i+k)%43 == 0 {
				qty = `"x"` // a rejected child element
			}
			items = append(items, fmt.Sprintf(`{"sku":"s%d","qty":%s}`, k, qty))
		}
		fmt.Fprintf(&b, `{"id":%s,"email":"%s","notes":"%s","extra":"%s","name":"%s","score":%s,"code":"%s","updated":"2024-01-%02dT10:00:00Z","items":[%s]}`+"\n",
			id, email, notes, extra, name, score, code, 1+i%28, strings.Join(items, ","))
	}
	path := filepath.Join(t.TempDir(), "people.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func samePlan(t *testing.T, path, extra string) *pipeline.Plan {
	t.Helper()
	src := fmt.Sprintf(`version: 1
name: same
source: {type: file, path: %q}
defaults: {batch_size: 100}
entities:
  people:
    primary_key: id
    keep_raw: true
    filter: 'name != "skip"'
    incremental: {field: updated}
%s    fields:
      id: {path: id, required: true}
      email: {path: email, validate: [email], on_invalid: reject}
      notes: notes
      name: name
      score: {path: score, type: integer}
      code: {path: code, validate: [{one_of: [ok]}], on_invalid: fail}
      updated: {path: updated, type: datetime}
      label: {expr: 'upper(name) + "-" + string(score ?? 0)'}
      short: {expr: 'len(email) > 16 ? "long" : "short"'}
    children:
      items:
        from: items
        fields:
          sku: sku
          qty: {path: qty, type: integer, on_invalid: reject}
      made:
        from: '= map(1..(len(email) %% 3), ({"k": #, "who": email + "/" + label}))'
        fields:
          k: {path: k, type: integer}
          who: who
`, path, extra)
	plan, f := pipeline.Load(filepath.Join(filepath.Dir(path), "p.yaml"), []byte(src), pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	return plan
}

// lockedBuffer collects log lines from the sync and its workers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// sameRun is everything a sync leaves that must not depend on workers.
type sameRun struct {
	err, counts, checkpoint string
	rows, children          []string
	rejects                 []string
	warnings, notPrinted    map[string]int64
	logs                    []string
	events                  []string
}

// runSame runs plan twice (the second --full). Without hooks, the reader
// runs ahead of the record path and pages flow through the workers one
// after the other; hooks hold the reader until a page was processed.
func runSame(t *testing.T, plan *pipeline.Plan, workers int, full, window, withHooks bool) sameRun {
	t.Helper()
	d, db := openPostgres(t)
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	var out sameRun
	hooks := &runner.Hooks{
		Record: func(ev runner.RecordEvent) {
			u := ""
			if ev.Unreadable != nil {
				u = fmt.Sprintf("%+v", *ev.Unreadable)
			}
			out.events = append(out.events, fmt.Sprintf("%q %s %d %q %v %q %v %v", ev.Raw, u, ev.Outcome, ev.ID, ev.Values, ev.Reasons, ev.Children, ev.ChildRejects))
		},
		Page: func(p runner.PageInfo) bool {
			out.events = append(out.events, fmt.Sprintf("page %+v", p))
			return true
		},
	}
	out.warnings, out.notPrinted = map[string]int64{}, map[string]int64{}
	for run := 0; run < 2; run++ { // a second, full run updates and leaves rows unchanged
		o := runner.Options{Dest: d, Logger: log, Workers: workers, Full: full || run > 0}
		if withHooks {
			o.Hooks = hooks
		}
		if window {
			o.Start, o.End = time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC)
		}
		r := runner.Sync(context.Background(), plan, plan.Entities[0], o)
		for f, n := range r.Warnings {
			out.warnings[f] += n
		}
		for f, n := range r.NotPrinted {
			out.notPrinted[f] += n
		}
		if r.Err != nil {
			out.err = r.Err.Error()
			break
		}
	}
	h, err := d.History(context.Background(), sink.Filter{Pipeline: "same"})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]sink.FieldWarning{}
	for _, s := range h {
		out.counts += fmt.Sprintf("%s p%d c%d u%d n%d f%d r%d x%d d%d v%d e%d %q %v\n", s.Status, s.Processed, s.Created, s.Updated, s.Unchanged, s.Filtered, s.Rejected, s.Failed, s.Duplicates, s.ValidationErrors, s.ProcessingErrors, s.Errors, s.FieldWarnings)
		for f, w := range s.FieldWarnings {
			stored[f] = sink.FieldWarning{Lines: stored[f].Lines + w.Lines, NotPrinted: stored[f].NotPrinted + w.NotPrinted}
		}
	}
	// The history keeps the counts the runs reported, field by field.
	for f, n := range out.warnings {
		if stored[f] != (sink.FieldWarning{Lines: n, NotPrinted: out.notPrinted[f]}) {
			t.Errorf("history's field_warnings %s = %+v; the runs counted %d lines, %d not printed", f, stored[f], n, out.notPrinted[f])
		}
	}
	if len(stored) != len(out.warnings) {
		t.Errorf("history's field_warnings %v; the runs counted %v", stored, out.warnings)
	}
	cp, err := d.Checkpoint(context.Background(), "same", "people")
	if err != nil {
		t.Fatal(err)
	}
	out.checkpoint = fmt.Sprintf("%q %q", cp.Watermark, cp.Resume)
	out.rows, out.children = sameRows(t, db, "_synced_at")
	rejects, err := d.Rejects(context.Background(), sink.Filter{Pipeline: "same"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rj := range rejects {
		out.rejects = append(out.rejects, fmt.Sprintf("%s %q %q", rj.RecordID, rj.Reasons, rj.Raw))
	}
	for _, l := range strings.Split(logs.b.String(), "\n") {
		// The summary's durations and rates differ from run to run.
		if !strings.Contains(l, "Completed ") && !strings.Contains(l, "duration") && !strings.Contains(l, "/s") {
			out.logs = append(out.logs, l)
		}
	}
	return out
}

// sameRows are the rows and child rows of samePlan's tables, without
// the columns named in drop.
func sameRows(t *testing.T, db *sql.DB, drop ...string) (rows, children []string) {
	t.Helper()
	minus := ""
	for _, c := range drop {
		minus += fmt.Sprintf(" - '%s'", c)
	}
	rows = queryJSON(t, db, `SELECT (to_jsonb(t)`+minus+`)::text FROM same_people t ORDER BY id`)
	children = queryJSON(t, db, `SELECT (to_jsonb(t)`+minus+`)::text FROM same_people_items t ORDER BY 1`)
	children = append(children, queryJSON(t, db, `SELECT (to_jsonb(t)`+minus+`)::text FROM same_people_made t ORDER BY 1`)...)
	return rows, children
}

func queryJSON(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestWorkersChangeNothing: the same messy input synced with one worker
// and with several (also with GOMAXPROCS forced to 1 and to 4) leaves the
// same rows, child rows, rejects, history counts, checkpoint, warnings
// and their counts, log lines and hook events, in the same order — for
// a whole read, a read cut by max_records mid-page and a sync that fails
// on a record mid-page. Pages hold 100 records and keys repeat across
// them; without hooks the pages flow through the workers one after the
// other (a page's first chunks transformed while the ordered pass is on
// the last of the page before), with hooks page by page.
func TestWorkersChangeNothing(t *testing.T) {
	cases := []struct {
		name   string
		n      int
		failAt int
		extra  string
		full   bool
		window bool
	}{
		{name: "whole read", n: 1500},
		{name: "max_records mid-page", n: 1500, extra: "    max_records: 1234\n"},
		{name: "failed record mid-page", n: 1500, failAt: 1111},
		{name: "full", n: 700, full: true},
		{name: "start and end date", n: 900, window: true},
		{name: "max_reject_rate stops it", n: 900, extra: "    max_reject_rate: 0.15\n"},
	}
	variants := []struct {
		name       string
		workers    int
		gomaxprocs int
		hooks      bool
	}{
		{"workers 4", 4, 0, true},
		{"workers 2", 2, 0, true},
		{"default, GOMAXPROCS 4", 0, 4, true},
		{"workers 4, GOMAXPROCS 1", 4, 1, true},
		{"workers 2, pipelined", 2, 0, false},
		{"workers 4, pipelined", 4, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := samePlan(t, sameJSONL(t, c.n, c.failAt), c.extra)
			want := runSame(t, plan, 1, c.full, c.window, true)
			plain := runSame(t, plan, 1, c.full, c.window, false) // no hooks
			if c.failAt > 0 && !strings.Contains(want.err, "record") {
				t.Fatalf("the sync should fail on record %d: %q", c.failAt, want.err)
			}
			if c.window && strings.Contains(want.counts, " f0 ") {
				t.Fatalf("the window should filter records in every run: %s", want.counts)
			}
			if strings.Contains(c.extra, "max_reject_rate") {
				if !strings.Contains(want.err, "max_reject_rate") || len(want.events) == 0 {
					t.Fatalf("the sync should stop at max_reject_rate: %q", want.err)
				}
			} else if want.notPrinted["score"] == 0 || len(want.rejects) == 0 || !strings.Contains(fmt.Sprint(want.children), `"who": "u`) {
				t.Fatalf("the input should make unprinted warnings, rejects and child rows: %v %d %d", want.notPrinted, len(want.rejects), len(want.children))
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					if v.gomaxprocs > 0 {
						defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(v.gomaxprocs))
					}
					workers := v.workers
					if workers == 0 {
						t.Setenv("CRMSYNC_WORKERS", "")
					}
					got := runSame(t, plan, workers, c.full, c.window, v.hooks)
					if !v.hooks {
						compareSame(t, plain, got)
						return
					}
					compareSame(t, want, got)
				})
			}
		})
	}
}

func compareSame(t *testing.T, want, got sameRun) {
	t.Helper()
	eq := func(what string, w, g any) {
		if ws, gs := fmt.Sprintf("%v", w), fmt.Sprintf("%v", g); ws != gs {
			t.Errorf("%s differ:\n one worker: %.600s\n    several: %.600s", what, ws, gs)
		}
	}
	eq("errors", want.err, got.err)
	eq("history counts", want.counts, got.counts)
	eq("checkpoints", want.checkpoint, got.checkpoint)
	eq("warnings", want.warnings, got.warnings)
	eq("unprinted warnings", want.notPrinted, got.notPrinted)
	lists := []struct {
		what string
		w, g []string
	}{{"rows", want.rows, got.rows}, {"child rows", want.children, got.children}, {"rejects", want.rejects, got.rejects},
		{"log lines", want.logs, got.logs}, {"hook events", want.events, got.events}}
	for _, l := range lists {
		if len(l.w) != len(l.g) {
			t.Errorf("%s: %d with one worker, %d with several", l.what, len(l.w), len(l.g))
		}
		for i := range min(len(l.w), len(l.g)) {
			if l.w[i] != l.g[i] {
				t.Errorf("%s differ first at %d:\n one worker: %.600s\n    several: %.600s", l.what, i, l.w[i], l.g[i])
				break
			}
		}
	}
}

// TestWorkersKilledMidPipeline: a sync stopped while pages flow through
// the workers (the next page's chunks handed out, the ordered pass not
// there yet) has committed no checkpoint past a record it did not pass:
// the next run, which goes on from the checkpoint, leaves exactly the
// rows and child rows of a run never stopped. Keys repeat across pages
// and batches, so a record skipped or read in the wrong order shows.
// The stop is a cancelled context after a page (the ordered pass goes
// on with what was read, the writer commits what was handed over) or a
// crash after a batch: the destination fails every write from then on,
// as if the process had died with the checkpoint of that batch stored.
// It also checks that pages did flow through the workers.
func TestWorkersKilledMidPipeline(t *testing.T) {
	const n = 2000 // 20 pages of 100
	plan := samePlan(t, sameJSONL(t, n, 0), "")
	want := runSame(t, plan, 1, false, false, false)
	for _, workers := range []int{1, 2, 4} {
		for _, stop := range []struct {
			name          string
			page, batches int
		}{{"cancelled after page 3", 3, 0}, {"cancelled after page 14", 14, 0}, {"crash after batch 2", 0, 2}, {"crash after batch 9", 0, 9}} {
			t.Run(fmt.Sprintf("workers %d, %s", workers, stop.name), func(t *testing.T) {
				d, db := openPostgres(t)
				var logs lockedBuffer
				log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				o := runner.Options{Dest: d, Logger: log, Workers: workers, Progress: func(p runner.Progress) {
					if p.Pages == stop.page {
						cancel()
					}
				}}
				if stop.batches > 0 {
					o.Dest = &crashAfter{Destination: d, left: stop.batches}
				}
				r := runner.Sync(ctx, plan, plan.Entities[0], o)
				if r.Err == nil {
					t.Fatalf("the sync should stop: processed %d", r.Processed)
				}
				cp, err := d.Checkpoint(context.Background(), "same", "people")
				if err != nil {
					t.Fatal(err)
				}
				if cp.Resume == "" {
					t.Fatalf("the batches before the stop should commit a position")
				}
				if rows, _ := sameRows(t, db); len(rows) >= len(want.rows) {
					t.Fatalf("the stopped sync left %d rows, the whole read %d", len(rows), len(want.rows))
				}
				if workers > 1 {
					held := 0
					if m := regexp.MustCompile(`at most (\d+) pages in the record workers`).FindStringSubmatch(logs.b.String()); m != nil {
						held, _ = strconv.Atoi(m[1])
					}
					if held < 2 {
						t.Errorf("pages did not flow through the workers one after the other (%d at once):\n%.2000s", held, logs.b.String())
					}
				}
				r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: d, Logger: quiet(), Workers: workers})
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				rows, children := sameRows(t, db, "_synced_at")
				compareLists(t, "rows", stripSyncID(want.rows), stripSyncID(rows))
				compareLists(t, "child rows", stripSyncID(want.children), stripSyncID(children))
			})
		}
	}
}

// crashAfter is a destination that dies after left batches: every later
// write fails and stores nothing.
type crashAfter struct {
	sink.Destination
	mu   sync.Mutex
	left int
}

func (c *crashAfter) Write(ctx context.Context, b *sink.Batch) (sink.Result, error) {
	c.mu.Lock()
	dead := c.left <= 0
	c.left--
	c.mu.Unlock()
	if dead {
		return sink.Result{}, fmt.Errorf("the process died")
	}
	return c.Destination.Write(ctx, b)
}

// stripSyncID drops "_sync_id" from rows read with sameRows.
func stripSyncID(rows []string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(r))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			panic(err)
		}
		delete(m, "_sync_id")
		b, _ := json.Marshal(m)
		out[i] = string(b)
	}
	return out
}

func compareLists(t *testing.T, what string, want, got []string) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %d, want %d", what, len(got), len(want))
	}
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Errorf("%s differ first at %d:\n want: %.600s\n  got: %.600s", what, i, want[i], got[i])
			return
		}
	}
}

// contactsJSONL writes n HubSpot-style contacts, one JSON object a line.
func contactsJSONL(tb testing.TB, n int) string {
	tb.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"id":"%d","properties":{"email":"user%d@example.com","firstname":"Ann","lastname":"Lee%d","company":"Acme %d","state":"MA","lifecyclestage":"lead","amount":"%d.%02d","createdate":"2024-01-01T00:00:00Z","lastmodifieddate":"2024-03-%02dT10:00:00Z"},"archived":false}`+"\n",
			i+1, i, i, i%100, i%100000, i%100, 1+i%28)
	}
	path := filepath.Join(tb.TempDir(), "contacts.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkDryRunWorkers is the record path of a dry run (file read,
// 10 fields, 3 expressions, folding) with one worker and with two. It
// reports records/s and allocations per record, which must not grow with
// the workers. CRMSYNC_BENCH_ROWS sets the number of contacts (default
// 50,000).
func BenchmarkDryRunWorkers(b *testing.B) {
	n := 50_000
	if s := os.Getenv("CRMSYNC_BENCH_ROWS"); s != "" {
		fmt.Sscan(s, &n)
	}
	path := contactsJSONL(b, n)
	src := fmt.Sprintf(`version: 1
name: bench
source: {type: file, path: %q}
entities:
  contacts:
    primary_key: id
    batch_size: 5000
    fields:
      id: {path: id, type: integer}
      email: {path: properties.email, type: email}
      first_name: properties.firstname
      last_name: properties.lastname
      company: properties.company
      state: properties.state
      stage: properties.lifecyclestage
      amount: {path: properties.amount, type: decimal}
      created_at: {path: properties.createdate, type: datetime}
      updated_at: {path: properties.lastmodifieddate, type: datetime}
      full_name: {expr: 'trim(first_name + " " + last_name)'}
      domain: {expr: 'email_domain(email)'}
      is_lead: {expr: 'stage == "lead"'}
`, path)
	plan, f := pipeline.Load(filepath.Join(filepath.Dir(path), "bench.yaml"), []byte(src), pipeline.Options{})
	if plan == nil {
		b.Fatal(f)
	}
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start := time.Now()
			for i := 0; i < b.N; i++ {
				r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{DryRun: true, Logger: quiet(), Workers: w})
				if r.Err != nil || r.Processed != int64(n) {
					b.Fatalf("%+v %v", r.Sync, r.Err)
				}
			}
			el := time.Since(start)
			runtime.ReadMemStats(&m1)
			recs := float64(n) * float64(b.N)
			b.ReportMetric(recs/el.Seconds(), "records/s")
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/recs, "allocs/record")
			b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/recs, "B/record")
		})
	}
}

// TestWorkersSetting: CRMSYNC_WORKERS sets the number of workers; a value
// that is not a whole number of 1 or more fails the sync, naming it.
func TestWorkersSetting(t *testing.T) {
	plan := samePlan(t, sameJSONL(t, 50, 0), "")
	for _, c := range []struct{ env, err string }{
		{"1", ""},
		{"3", ""},
		{" 2 ", ""},
		{"x", `CRMSYNC_WORKERS="x": want a whole number of workers, 1 or more`},
		{"0", `CRMSYNC_WORKERS="0": want a whole number of workers, 1 or more`},
		{"-2", `CRMSYNC_WORKERS="-2": want a whole number of workers, 1 or more`},
	} {
		t.Run(c.env, func(t *testing.T) {
			t.Setenv("CRMSYNC_WORKERS", c.env)
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{DryRun: true, Logger: quiet()})
			switch {
			case c.err == "" && (r.Err != nil || r.Processed != 50):
				t.Fatalf("%+v %v", r.Sync, r.Err)
			case c.err != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), c.err)):
				t.Fatalf("error %v, want %q", r.Err, c.err)
			}
		})
	}
}
