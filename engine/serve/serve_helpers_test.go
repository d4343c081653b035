package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/sqlite"
	_ "github.com/crmsync/crmsync/engine/source/filesrc"
	_ "github.com/crmsync/crmsync/engine/source/httpsrc"
)

// logs collects a scheduler's JSON log lines.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logs) count(sub string) int { return strings.Count(l.String(), sub) }

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	// A bound on waiting, never a claim about speed: three times what an
	// idle machine needs, so a loaded CI machine does not fail a test
	// whose condition comes true a little later.
	within *= 3
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newScheduler makes a scheduler over dir writing into a fresh SQLite file.
func newScheduler(t *testing.T, dir string, o Options) (*Scheduler, *logs) {
	t.Helper()
	dest, err := sink.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dest.Close() })
	l := &logs{}
	o.Dir, o.Dest = dir, dest
	o.Logger = slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s, l
}

// runScheduler runs s until the test ends.
func runScheduler(t *testing.T, s *Scheduler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, 5*time.Second)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// startWatch runs s.Watch until the test ends and returns once the watch
// is live: it touches a file until a rescan is logged.
func startWatch(t *testing.T, s *Scheduler, l *logs) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Watch(ctx); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	probe := filepath.Join(s.o.Dir, "probe.txt")
	eventually(t, 5*time.Second, "the folder watch should start", func() bool {
		os.WriteFile(probe, []byte(time.Now().String()), 0o644)
		time.Sleep(s.o.Debounce + 20*time.Millisecond)
		return l.count("rescanning") > 0
	})
	os.Remove(probe)
}

// writeAtomic writes a file the way careful editors do: a temporary file
// renamed over the old one.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// crm serves records 1..n at /{entity}, pageSize a page, each page after
// delay, and counts requests running at once: in all and per entity.
type crm struct {
	*httptest.Server
	n, pageSize int
	delay       time.Duration

	mu        sync.Mutex
	failing   map[string]bool
	active    map[string]int
	maxActive map[string]int
	total     int
	maxTotal  int
	requests  map[string][]time.Time // first-page requests: one per sync
}

func newCRM(t *testing.T, n, pageSize int, delay time.Duration) *crm {
	c := &crm{n: n, pageSize: pageSize, delay: delay, failing: map[string]bool{}, active: map[string]int{},
		maxActive: map[string]int{}, requests: map[string][]time.Time{}}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Close)
	return c
}

func (c *crm) serve(w http.ResponseWriter, r *http.Request) {
	ent := strings.TrimPrefix(r.URL.Path, "/")
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	c.mu.Lock()
	c.active[ent]++
	c.total++
	c.maxActive[ent] = max(c.maxActive[ent], c.active[ent])
	c.maxTotal = max(c.maxTotal, c.total)
	if after == 0 {
		c.requests[ent] = append(c.requests[ent], time.Now())
	}
	failing := c.failing[ent]
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.active[ent]--
		c.total--
		c.mu.Unlock()
	}()
	time.Sleep(c.delay)
	if failing {
		http.Error(w, `{"message":"<b>upstream exploded</b>"}`, http.StatusBadRequest)
		return
	}
	var items []map[string]any
	i := after + 1
	for ; i <= c.n && len(items) < c.pageSize; i++ {
		items = append(items, map[string]any{"id": i, "name": fmt.Sprintf("%s %d", ent, i)})
	}
	body := map[string]any{"items": items}
	if i <= c.n {
		body["next"] = strconv.Itoa(i - 1)
	}
	json.NewEncoder(w).Encode(body)
}

func (c *crm) setFailing(ent string, v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failing[ent] = v
}

func (c *crm) syncsOf(ent string) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.requests[ent]...)
}

// httpPipeline is a pipeline over the crm with one entity per name.
func httpPipeline(name, url, schedule string, entities ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: %s\n", name)
	if schedule != "" {
		fmt.Fprintf(&b, "schedule: %s\n", schedule)
	}
	fmt.Fprintf(&b, "source:\n  type: http\n  base_url: %s\n  retry: {attempts: 1}\n  records: items\n  paginate: {style: cursor, cursor: next, param: after}\nentities:\n", url)
	for _, e := range entities {
		fmt.Fprintf(&b, "  %s:\n    request: {path: /%s}\n    primary_key: id\n    fields:\n      id: {path: id, type: integer}\n      name: name\n", e, e)
	}
	return b.String()
}

func getStatus(t *testing.T, s *Scheduler) Status {
	t.Helper()
	// Through JSON, as a client sees it.
	b, err := json.Marshal(s.Status())
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func entityStatus(st Status, pipeline, entity string) *EntityStatus {
	for _, p := range st.Pipelines {
		if p.Name != pipeline {
			continue
		}
		for i := range p.Entities {
			if p.Entities[i].Name == entity {
				return &p.Entities[i]
			}
		}
	}
	return nil
}
