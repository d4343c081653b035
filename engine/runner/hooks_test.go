package runner_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink/memory"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
)

// hookPlan reads 5 pages of 2 records (cursor pagination), each record
// with one child row; the server counts the requests.
func hookPlan(t *testing.T) (*pipeline.Plan, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("after"))
		next := ""
		if page < 4 {
			next = strconv.Itoa(page + 1)
		}
		a, b := 2*page+1, 2*page+2
		fmt.Fprintf(w, `{"results":[{"id":%d,"tags":[{"t":"x%d"}]},{"id":%d,"tags":[{"t":"x%d"}]}],"next":%q}`, a, a, b, b, next)
	}))
	t.Cleanup(srv.Close)
	plan, f := pipeline.Load("crm.yaml", []byte(fmt.Sprintf(`version: 1
name: crm
source: {type: http, base_url: %q, records: results}
entities:
  items:
    request: {path: /items}
    paginate: {style: cursor, cursor: next, param: after}
    primary_key: id
    fields: {id: {path: id, type: integer}}
    children:
      tags:
        from: tags
        primary_key: t
        fields: {t: t}
`, srv.URL)), pipeline.Options{})
	if plan == nil || f.HasErrors() {
		t.Fatal(f)
	}
	return plan, &calls
}

// TestHooksStopWithoutReadingAhead: with hooks, a read stopped by
// MaxRecords or Page sends no request past the page it stopped on, and
// the Record hook sees every record with its child rows, as they went
// to the destination.
func TestHooksStopWithoutReadingAhead(t *testing.T) {
	cases := []struct {
		name      string
		hooks     runner.Hooks
		calls     int
		processed int64
	}{
		{"max records mid-page", runner.Hooks{MaxRecords: 3}, 2, 3},
		{"max records at a page end", runner.Hooks{MaxRecords: 4}, 2, 4},
		{"one page", runner.Hooks{Page: func(runner.PageInfo) bool { return false }}, 1, 2},
		{"everything", runner.Hooks{}, 5, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, calls := hookPlan(t)
			var events []runner.RecordEvent
			h := c.hooks
			h.Probe = &source.Probe{Attempts: 1}
			h.Record = func(ev runner.RecordEvent) { events = append(events, ev) }
			dest := memory.New()
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Hooks: &h})
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			if int(calls.Load()) != c.calls || r.Processed != c.processed || int64(len(events)) != c.processed {
				t.Fatalf("%d requests, %d processed, %d events; want %d requests, %d processed", calls.Load(), r.Processed, len(events), c.calls, c.processed)
			}
			for i, ev := range events {
				want := fmt.Sprintf("x%d", i+1)
				if ev.Outcome != transform.Keep || ev.Values[0] != int64(i+1) || len(ev.Children) != 1 || len(ev.Children[0]) != 1 || ev.Children[0][0].Values[1] != want {
					t.Fatalf("event %d: %+v", i, ev)
				}
			}
			if rows := dest.Rows("crm_items"); int64(len(rows)) != c.processed {
				t.Errorf("the destination holds %d rows, want %d", len(rows), c.processed)
			}
			if rows := dest.Rows("crm_items_tags"); int64(len(rows)) != c.processed {
				t.Errorf("the destination holds %d child rows, want %d", len(rows), c.processed)
			}
		})
	}
}

// TestHooksErrorKeepsChain: the Error hook gets the sync's error with its
// chain, where Result.Err is flattened.
func TestHooksErrorKeepsChain(t *testing.T) {
	plan, _ := pipeline.Load("crm.yaml", []byte(`version: 1
name: crm
source: {type: http, base_url: "http://127.0.0.1:1", records: results, retry: {attempts: 1}}
entities:
  items:
    request: {path: /items}
    primary_key: id
    fields: {id: id}
`), pipeline.Options{})
	var got error
	h := runner.Hooks{Error: func(err error) { got = err }}
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: memory.New(), Logger: quiet(), Hooks: &h})
	var op *net.OpError
	if r.Err == nil || got == nil || got.Error() != r.Err.Error() || !errors.As(got, &op) {
		t.Fatalf("Result.Err %v, hook %v (%T)", r.Err, got, got)
	}
}
