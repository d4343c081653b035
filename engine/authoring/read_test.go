package authoring

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
)

// TestReadIsASync: Read runs the runner into its in-memory destination:
// a --limit that ends mid-read sends no request past the page it
// stopped on, and the destination holds the kept rows and their child
// rows, as a first sync would have written them.
func TestReadIsASync(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("after"))
		fmt.Fprintf(w, `{"results":[{"id":%d,"tags":["a","b"]},{"id":%d,"tags":[]}],"next":"%d"}`, 2*page+1, 2*page+2, page+1)
	}))
	defer srv.Close()
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
        fields: {tag: "@this"}
`, srv.URL)), pipeline.Options{})
	if plan == nil || f.HasErrors() {
		t.Fatal(f)
	}
	res, err := Read(context.Background(), plan, plan.Entities[0], Options{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 3 || !res.Stopped || res.Pages != 2 || calls.Load() != 2 {
		t.Fatalf("%d records, stopped %v, %d pages, %d requests; want 3, true, 2, 2", len(res.Records), res.Stopped, res.Pages, calls.Load())
	}
	want := `{"outcome":"ok","id":"1","record":{"id":1},"children":{"tags":[{"tag":"a"},{"tag":"b"}]}}`
	if got := res.Lines()[0]; got != want {
		t.Errorf("line\n%s\nwant\n%s", got, want)
	}
	if rows := res.Dest.Rows("crm_items"); len(rows) != 3 {
		t.Errorf("the in-memory destination holds %d rows, want 3", len(rows))
	}
	if rows := res.Dest.Rows("crm_items_tags"); len(rows) != 4 {
		t.Errorf("the in-memory destination holds %d child rows, want 4", len(rows))
	}
}

type countingTransport struct {
	rt    http.RoundTripper
	paths *sync.Map
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n, _ := c.paths.LoadOrStore(r.URL.Path, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	return c.rt.RoundTrip(r)
}

// TestReadRunsLookupsThroughTheProbe: preview and check map fields that
// read lookup.<name>, and the lookup's request goes through the same
// probe as the entity's (a recording or a replay sees it).
func TestReadRunsLookupsThroughTheProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fields":
			fmt.Fprint(w, `{"data":[{"key":"c0ffee","name":"Lead source"}]}`)
		default:
			fmt.Fprint(w, `{"data":[{"id":1,"c0ffee":"Web"}]}`)
		}
	}))
	defer srv.Close()
	plan, f := pipeline.Load("crm.yaml", []byte(fmt.Sprintf(`version: 1
name: crm
source:
  type: http
  base_url: %q
  records: data
  lookups: {fields: {request: {path: /fields}, key: name, cache: 1h}}
entities:
  items:
    request: {path: /items}
    primary_key: id
    fields:
      id: {path: id, type: integer}
      lead_source: {expr: 'raw[lookup.fields["Lead source"].key]'}
`, srv.URL)), pipeline.Options{})
	if plan == nil || f.HasErrors() {
		t.Fatal(f)
	}
	paths := &sync.Map{}
	for range 2 {
		res, err := Read(context.Background(), plan, plan.Entities[0], Options{Wrap: func(rt http.RoundTripper) http.RoundTripper {
			return countingTransport{rt, paths}
		}})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"outcome":"ok","id":"1","record":{"id":1,"lead_source":"Web"}}`; len(res.Records) != 1 || res.Lines()[0] != want {
			t.Fatalf("lines %v, want %s", res.Lines(), want)
		}
	}
	n, ok := paths.Load("/fields")
	if !ok || n.(*atomic.Int32).Load() != 2 {
		t.Fatalf("the lookup went through the probe %v times, want 2 (once per read: no cache under a probe)", n)
	}
}
