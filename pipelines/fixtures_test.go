package pipelines_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/engine/authoring"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
)

// The HTTP pipelines' Go tests replay the product's own fixtures — the
// <crm>.fixtures/<entity>/round-N/ folders that `crmsync test` replays
// into memory — into a real PostgreSQL destination, so the deeper
// checks (column types, rejects, log lines, child tables, deletes) run
// on exactly the exchanges crmsync test checks.

// fixtures replays recorded rounds for one test.
type fixtures struct {
	t     *testing.T
	dir   string // <crm>.fixtures
	p     *authoring.Replayer
	check func(*http.Request) error // sees each live request, credentials and all
	// edit, when set, may change a live request after check saw it and
	// before it is compared with its fixture (a value relative to now).
	edit func(*http.Request)

	mu   sync.Mutex
	fail map[string]*http.Response // entity → an answer its first request gets instead
}

func newFixtures(t *testing.T, crm string, check func(*http.Request) error) *fixtures {
	t.Helper()
	p, err := authoring.StartReplayer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &fixtures{t: t, dir: crm + ".fixtures", p: p, check: check, fail: map[string]*http.Response{}}
}

// failFirst makes the first request of an entity's next sync get status
// (with its headers) before the recorded answer: fixtures hold only the
// exchanges that succeeded, and the retry is what a test checks.
func (f *fixtures) failFirst(entity string, status int, header map[string]string, body string) {
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	f.mu.Lock()
	f.fail[entity] = &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body))}
	f.mu.Unlock()
}

// round syncs every entity of the plan once, in file order, from its
// recorded round n; a sync that fails, a request that differs from its
// fixture or a fixture left unasked stops the test.
func (f *fixtures) round(t *testing.T, plan *pipeline.Plan, d *dest, logs *logBuffer, n int) map[string]*runner.Result {
	t.Helper()
	out := map[string]*runner.Result{}
	for _, e := range plan.Entities {
		r := f.sync(t, plan, e, d, logs, filepath.Join(f.dir, e.Name, "round-"+strconv.Itoa(n)))
		if r.Err != nil {
			t.Fatalf("round %d: %s %s: %v", n, plan.Name, e.Name, r.Err)
		}
		out[e.Name] = r
	}
	return out
}

// sync syncs one entity from the exchanges in dir.
func (f *fixtures) sync(t *testing.T, plan *pipeline.Plan, e *pipeline.Entity, d *dest, logs *logBuffer, dir string) *runner.Result {
	t.Helper()
	fx, err := authoring.LoadFixtures(dir)
	if err != nil || len(fx) == 0 {
		t.Fatalf("%s: %d fixtures, %v", dir, len(fx), err)
	}
	rt := f.p.Transport(fx, authoring.NewRedactor(plan))
	o := runner.Options{Dest: d.Destination, Logger: logs.logger(), WrapTransport: func(next http.RoundTripper) http.RoundTripper {
		return &checked{f: f, entity: e.Name, next: rt.Wrap(next)}
	}}
	r := runner.Sync(context.Background(), plan, e, o)
	if m := rt.Mismatch(); m != nil {
		t.Fatalf("%s: %v", dir, m)
	}
	if left := rt.Remaining(); left > 0 {
		t.Errorf("%s: %d of the %d recorded requests were not sent", dir, left, len(fx))
	}
	return r
}

// checked runs the test's check on each live request and answers the
// failure an entity was given to retry.
type checked struct {
	f      *fixtures
	entity string
	next   http.RoundTripper
}

func (c *checked) RoundTrip(req *http.Request) (*http.Response, error) {
	if c.f.check != nil {
		if err := c.f.check(req); err != nil {
			c.f.t.Errorf("request %s %s: %v", req.Method, req.URL, err)
			return nil, fmt.Errorf("the test's check: %w", err)
		}
	}
	if c.f.edit != nil {
		c.f.edit(req)
	}
	c.f.mu.Lock()
	resp := c.f.fail[c.entity]
	delete(c.f.fail, c.entity)
	c.f.mu.Unlock()
	if resp != nil {
		resp.Request = req
		return resp, nil
	}
	return c.next.RoundTrip(req)
}
