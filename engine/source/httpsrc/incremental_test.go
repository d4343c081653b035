package httpsrc

import (
	"compress/gzip"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// TestIncremental: the watermark reaches the request as a query
// parameter, a header or a top-level body key, and is left out on a first
// run; the response may come gzipped.
func TestIncremental(t *testing.T) {
	cases := []struct {
		name, request, incremental string
		sent                       func(q seen) string // where the watermark is found
	}{
		{"query", `{path: /bookings}`, `{field: updated, param: updated_after}`,
			func(q seen) string { return q.Query.Get("updated_after") }},
		{"header", `{path: /users}`, `{field: updated, param: if-modified-since, in: header}`,
			func(q seen) string { return q.Header.Get("If-Modified-Since") }},
		{"body", `{method: POST, path: /search, body: {limit: 10, updated_since: old}}`, `{field: updated, param: updated_since, in: body}`,
			func(q seen) string { return gjson.Get(q.Body, "updated_since").String() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
					t.Error("no Accept-Encoding: gzip")
				}
				w.Header().Set("Content-Encoding", "gzip")
				w.Header().Set("Content-Type", "application/json")
				zw := gzip.NewWriter(w)
				zw.Write([]byte(`[{"id":1,"updated":"2024-03-01T00:00:00Z"}]`))
				zw.Close()
			})
			yml := `
version: 1
name: inc
source: {type: http, base_url: BASE}
entities:
  things:
    request: REQUEST
    incremental: INCREMENTAL
    fields: {id: id}
`
			yml = strings.NewReplacer("REQUEST", tc.request, "INCREMENTAL", tc.incremental).Replace(yml)
			r := openYAML(t, yml, api.URL, nil)
			for _, wm := range []string{"2024-02-01T00:00:00Z", ""} {
				pages, err := readAllPages(t, r, source.ReadState{Watermark: wm})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(pages, "id"), []string{"1"}) {
					t.Fatalf("ids %v", ids(pages, "id"))
				}
			}
			reqs := api.requests()
			if got := tc.sent(reqs[0]); got != "2024-02-01T00:00:00Z" {
				t.Errorf("watermark sent as %q", got)
			}
			if tc.name == "body" {
				if gjson.Get(reqs[0].Body, "limit").Int() != 10 || reqs[0].Header.Get("Content-Type") != "application/json" {
					t.Errorf("body %s, headers %v", reqs[0].Body, reqs[0].Header)
				}
				if got := tc.sent(reqs[1]); got != "old" {
					t.Errorf("first run: body key %q, want the file's own value", got)
				}
			} else if got := tc.sent(reqs[1]); got != "" {
				t.Errorf("first run sent %q", got)
			}
		})
	}
}
