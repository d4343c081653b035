package httpsrc

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// items renders records {"id": from…to-1} as a JSON array.
func items(from, to int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d"}`, i, i)
	}
	b.WriteByte(']')
	return b.String()
}

// TestOffset runs an offset API through the stop rules: total reached, an
// exactly full last page without a total, a short page in the middle that
// the total says is not the end, a short last page, max_pages.
func TestOffset(t *testing.T) {
	cases := []struct {
		name       string
		n          int    // records on the server
		withTotal  bool   // the body says how many
		shortAt    int    // the server returns only 2 records at this offset (-1: never)
		paginate   string // YAML
		params     string
		wantOffs   []string
		wantRecs   int
		wantTotal  int
		wantLimits string
	}{
		{"total", 7, true, -1, `{style: offset, limit: 3, total: meta.total}`, `{}`, []string{"0", "3", "6"}, 7, 7, "3"},
		{"exactly full last page", 6, false, -1, `{style: offset, limit: 3}`, `{}`, []string{"0", "3", "6"}, 6, -1, "3"},
		{"short page in the middle", 7, true, 3, `{style: offset, limit: 3, total: meta.total}`, `{}`, []string{"0", "3", "5"}, 7, 7, "3"},
		{"short last page", 7, false, -1, `{style: offset, limit: 3}`, `{}`, []string{"0", "3", "6"}, 7, -1, "3"},
		{"max_pages", 7, false, -1, `{style: offset, limit: 3, max_pages: 2}`, `{}`, []string{"0", "3"}, 6, -1, "3"},
		{"limit from params, custom names", 5, false, -1, `{style: offset, offset_param: skip, limit_param: take}`, `{take: "2"}`, []string{"0", "2", "4"}, 5, -1, "2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			offName, limName := "offset", "limit"
			if strings.Contains(tc.paginate, "skip") {
				offName, limName = "skip", "take"
			}
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				off, _ := strconv.Atoi(r.URL.Query().Get(offName))
				lim, _ := strconv.Atoi(r.URL.Query().Get(limName))
				if off == tc.shortAt {
					lim = 2
				}
				end := min(off+lim, tc.n)
				body := `{"data":` + items(min(off, tc.n), end)
				if tc.withTotal {
					body += fmt.Sprintf(`,"meta":{"total":%d}`, tc.n)
				}
				writeJSON(w, 200, []byte(body+"}"))
			})
			yml := `
version: 1
name: offs
source: {type: http, base_url: BASE}
entities:
  items:
    request: {path: /v1/items, params: PARAMS}
    records: data
    paginate: PAGINATE
    primary_key: id
    fields: {id: id}
`
			yml = strings.NewReplacer("PARAMS", tc.params, "PAGINATE", tc.paginate).Replace(yml)
			r := openYAML(t, yml, api.URL, nil)
			pages, err := readAllPages(t, r, source.ReadState{})
			if err != nil {
				t.Fatal(err)
			}
			if want := numbers(0, tc.wantRecs-1); !slices.Equal(ids(pages, "id"), want) {
				t.Fatalf("ids %v, want %v", ids(pages, "id"), want)
			}
			var offs []string
			for _, q := range api.requests() {
				offs = append(offs, q.Query.Get(offName))
				if q.Query.Get(limName) != tc.wantLimits {
					t.Errorf("%s=%q", limName, q.Query.Get(limName))
				}
			}
			if !slices.Equal(offs, tc.wantOffs) {
				t.Errorf("offsets %v, want %v", offs, tc.wantOffs)
			}
			if pages[0].Total != tc.wantTotal {
				t.Errorf("total %d, want %d", pages[0].Total, tc.wantTotal)
			}
		})
	}
}

const arrivyYAML = `
version: 1
name: arrivy
source:
  type: http
  base_url: BASE/api
  auth:
    type: api_key
    headers: {X-Auth-Key: "${env:ARRIVY_KEY}", X-Auth-Token: "${env:ARRIVY_TOKEN}"}
entities:
  tasks:
    request:
      path: /tasks
      params: {from: "{{ window.start }}", to: "{{ window.end }}", order_by: CREATED}
    paginate: {style: page, page_param: page, limit_param: items_per_page, limit: 3}
    primary_key: id
    fields: {id: id}
  statuses:
    parent: {entity: tasks, key: id}
    request: {path: "/tasks/{{ parent.id }}/status", params: {items_per_page: "100"}}
    paginate: {style: page, limit_param: items_per_page}
    primary_key: id
    fields: {id: id}
`

// TestArrivyPages: bare JSON arrays, page=1,2,… with items_per_page, the
// auth headers on every call, an exactly full last page followed by the
// empty page that ends the read. The window reaches from/to; with no
// window they are left out.
func TestArrivyPages(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		if r.Header.Get("X-Auth-Key") != "key-1" || r.Header.Get("X-Auth-Token") != "tok-2" {
			writeJSON(w, 401, fixture(t, "arrivy/unauthorized.json"))
			return
		}
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		writeJSON(w, 200, fixture(t, fmt.Sprintf("arrivy/tasks_%d.json", min(p, 3))))
	})
	env := map[string]string{"ARRIVY_KEY": "key-1", "ARRIVY_TOKEN": "tok-2"}
	r := openYAML(t, arrivyYAML, api.URL, env)
	start := mustTime(t, "2016-10-01T00:00:00Z")
	pages, err := readAllPages(t, r, source.ReadState{Start: start, End: start.AddDate(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"5348024557502464", "5348024557502465", "5348024557502466", "5348024557502467", "5348024557502468", "5348024557502469"}
	if !slices.Equal(ids(pages, "id"), want) {
		t.Fatalf("ids %v", ids(pages, "id"))
	}
	reqs := api.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (the third comes back empty)", len(reqs))
	}
	for i, q := range reqs {
		if q.Path != "/api/tasks" || q.Query.Get("page") != strconv.Itoa(i+1) || q.Query.Get("items_per_page") != "3" ||
			q.Query.Get("order_by") != "CREATED" || q.Query.Get("from") != "2016-10-01T00:00:00Z" || q.Query.Get("to") != "2016-11-01T00:00:00Z" {
			t.Errorf("request %d: %s %v", i, q.Path, q.Query)
		}
	}
	// No window: from and to render empty and are omitted.
	if _, err := readAllPages(t, r, source.ReadState{}); err != nil {
		t.Fatal(err)
	}
	if q := api.requests()[3].Query; q.Has("from") || q.Has("to") {
		t.Errorf("empty params sent: %v", q)
	}
}

// TestParentTemplate: a child entity read once per parent record, with
// {{ parent.id }} escaped into the path; items_per_page known from params
// without being sent twice.
func TestParentTemplate(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		if r.URL.Query().Get("page") == "1" {
			writeJSON(w, 200, fixture(t, "arrivy/statuses_5348024557502464.json"))
			return
		}
		writeJSON(w, 200, []byte("[]"))
	})
	env := map[string]string{"ARRIVY_KEY": "key-1", "ARRIVY_TOKEN": "tok-2"}
	r := openYAML(t, arrivyYAML, api.URL, env, "statuses")
	pages, err := readAllPages(t, r, source.ReadState{Parent: `{"id": 5348024557502464, "title": "Gutter install"}`})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "type"); !slices.Equal(got, []string{"ENROUTE", "COMPLETE"}) {
		t.Fatalf("statuses %v", got)
	}
	reqs := api.requests()
	// A short page (2 of 100) ends the read: one request.
	if len(reqs) != 1 || reqs[0].Path != "/api/tasks/5348024557502464/status" || reqs[0].Query.Get("items_per_page") != "100" {
		t.Fatalf("requests %+v", reqs)
	}
	// A parent id that needs escaping stays one path segment.
	_, _ = readAllPages(t, r, source.ReadState{Parent: `{"id": "a/b c"}`})
	if p := api.requests()[1].Path; p != "/api/tasks/a/b c/status" {
		t.Errorf("path %q", p)
	}
	// A missing parent value is an error, not a request to /tasks//status.
	_, err = readAllPages(t, r, source.ReadState{Parent: `{"name": "x"}`})
	if err == nil || !strings.Contains(err.Error(), "{{ parent.id }} is empty") {
		t.Errorf("err %v", err)
	}
}

// TestCallRailPages: page + per_page, the CallRail token format, total
// pages and a short page in the middle that total_pages says is not the end.
func TestCallRailPages(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		p := r.URL.Query().Get("page")
		if p < "1" || p > "3" {
			http.Error(w, "no such page", 404)
			return
		}
		writeJSON(w, 200, fixture(t, "callrail/calls_"+p+".json"))
	})
	yml := `
version: 1
name: callrail
source:
  type: http
  base_url: BASE/v3
  auth: {type: bearer, token: "${env:CALLRAIL_KEY}", format: 'Token token="{{ token }}"'}
entities:
  calls:
    request: {path: /a/227799611/calls.json, params: {start_date: "{{ watermark }}"}}
    records: calls
    paginate: {style: page, limit_param: per_page, limit: 2, total_pages: total_pages, total: total_records}
    primary_key: id
    fields: {id: id}
`
	r := openYAML(t, yml, api.URL, map[string]string{"CALLRAIL_KEY": "abc123"})
	pages, err := readAllPages(t, r, source.ReadState{Watermark: "2017-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "customer_name"); !slices.Equal(got, []string{"RUEGSEGGER SIMONS", "JANE ROE", "PAT DOE", "LEE SMITH", "MAX LOW"}) {
		t.Fatalf("calls %v", got)
	}
	if pages[0].Total != 5 {
		t.Errorf("total %d", pages[0].Total)
	}
	for i, q := range api.requests() {
		if q.Header.Get("Authorization") != `Token token="abc123"` || q.Query.Get("per_page") != "2" ||
			q.Query.Get("page") != strconv.Itoa(i+1) || q.Query.Get("start_date") != "2017-01-01" {
			t.Errorf("request %d: %v %v", i, q.Header, q.Query)
		}
	}
	if n := len(api.requests()); n != 3 {
		t.Errorf("%d requests, want 3: page 3 of 3 is the last", n)
	}
}

// TestPageStops: has_more false ends the read; a 0-indexed API that
// repeats its page whatever the number is caught instead of looping.
func TestPageStops(t *testing.T) {
	t.Run("has_more", func(t *testing.T) {
		api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
			more := n < 2
			writeJSON(w, 200, []byte(fmt.Sprintf(`{"results":%s,"has_next":%v}`, items(n*10, n*10+2), more)))
		})
		yml := `
version: 1
name: t
source: {type: http, base_url: BASE}
entities:
  bookings:
    request: {path: /bookings}
    records: results
    paginate: {style: page, has_more: has_next}
    fields: {id: id}
`
		pages, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(pages, "id"); !slices.Equal(got, []string{"10", "11", "20", "21"}) {
			t.Fatalf("ids %v", got)
		}
		if len(api.requests()) != 2 {
			t.Errorf("%d requests", len(api.requests()))
		}
	})
	t.Run("repeated page", func(t *testing.T) {
		api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
			writeJSON(w, 200, []byte(`{"data":`+items(0, 1000)+`}`))
		})
		yml := `
version: 1
name: salesrabbit
source: {type: http, base_url: BASE, auth: {type: bearer, token: sr-token}}
entities:
  users:
    request: {path: /users}
    records: data
    paginate: {style: page, start_page: 0, limit_param: limit, limit: 1000}
    fields: {id: id}
`
		pages, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
		if err == nil || !strings.Contains(err.Error(), `entity "users": page 2:`) || !strings.Contains(err.Error(), "the same records as page 1; stopping instead of looping") {
			t.Fatalf("err %v", err)
		}
		if len(pages) != 1 || api.requests()[0].Query.Get("page") != "0" || api.requests()[1].Query.Get("page") != "1" {
			t.Errorf("pages %d, requests %v", len(pages), api.requests())
		}
	})
}

// TestCursorLoop: a server that hands out the same cursor again.
func TestCursorLoop(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		cur := []string{"c1", "c2", "c1"}[min(n-1, 2)]
		writeJSON(w, 200, []byte(fmt.Sprintf(`{"items":%s,"next":"%s"}`, items(n*10, n*10+1), cur)))
	})
	yml := `
version: 1
name: t
source: {type: http, base_url: BASE}
entities:
  items:
    request: {path: /items, headers: {X-Cursor-Test: "1"}}
    records: items
    paginate: {style: cursor, cursor: next, param: X-Page-Token, in: header}
    fields: {id: id}
`
	pages, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
	want := `entity "items": page 3: the server returned the same cursor "c1" twice; stopping instead of looping`
	if err == nil || err.Error() != want {
		t.Fatalf("err %v\nwant %s", err, want)
	}
	reqs := api.requests()
	if len(pages) != 2 || len(reqs) != 3 || reqs[0].Header.Get("X-Page-Token") != "" || reqs[1].Header.Get("X-Page-Token") != "c1" || reqs[2].Header.Get("X-Page-Token") != "c2" {
		t.Fatalf("pages %d, requests %d", len(pages), len(reqs))
	}
}

// TestNextURL follows relative and absolute next links; the entity's own
// params are not added to them, the auth query parameter is.
func TestNextURL(t *testing.T) {
	var base string
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		switch n {
		case 1:
			writeJSON(w, 200, []byte(`{"data":`+items(0, 2)+`,"links":{"next":"/v1/leads?page_token=Zm9v%2Bx"}}`))
		case 2:
			writeJSON(w, 200, []byte(`{"data":`+items(2, 4)+`,"links":{"next":"`+base+`/v1/leads?page_token=YmFy"}}`))
		default:
			writeJSON(w, 200, []byte(`{"data":`+items(4, 5)+`,"links":{"next":null}}`))
		}
	})
	base = api.URL
	yml := `
version: 1
name: t
source: {type: http, base_url: BASE, auth: {type: api_key, query: {api_key: "${env:KEY}"}}}
entities:
  leads:
    request: {path: /v1/leads, params: {sort: asc}}
    records: data
    paginate: {style: next_url, next_url: links.next}
    fields: {id: id}
`
	pages, err := readAllPages(t, openYAML(t, yml, api.URL, map[string]string{"KEY": "sekrit"}), source.ReadState{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "id"); !slices.Equal(got, numbers(0, 4)) {
		t.Fatalf("ids %v", got)
	}
	reqs := api.requests()
	if len(reqs) != 3 || reqs[0].Query.Get("sort") != "asc" || reqs[1].Query.Get("page_token") != "Zm9v+x" || reqs[1].Query.Has("sort") || reqs[2].Query.Get("page_token") != "YmFy" {
		t.Fatalf("requests %+v", reqs)
	}
	for _, q := range reqs {
		if q.Query.Get("api_key") != "sekrit" || len(q.Query["api_key"]) != 1 {
			t.Errorf("api_key %v", q.Query)
		}
	}
}

// TestLinkHeader follows GitHub-style Link headers, with several links and
// quoted parameters holding commas and semicolons.
func TestLinkHeader(t *testing.T) {
	var base string
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		p = max(p, 1)
		var links []string
		if p > 1 {
			links = append(links, fmt.Sprintf(`<%s/repos/o/r/commits?page=%d&per_page=2>; rel="prev"; title="back, one; page"`, base, p-1))
		}
		if p < 3 {
			links = append(links, fmt.Sprintf(`<%s/repos/o/r/commits?page=%d&per_page=2>; rel="next"`, base, p+1),
				fmt.Sprintf(`<%s/repos/o/r/commits?page=3&per_page=2>; rel="last"`, base))
		}
		if len(links) > 0 {
			w.Header().Set("Link", strings.Join(links, ", "))
		}
		writeJSON(w, 200, []byte(items((p-1)*2, p*2)))
	})
	base = api.URL
	yml := `
version: 1
name: gh
source: {type: http, base_url: BASE}
entities:
  commits:
    request: {path: /repos/o/r/commits, params: {per_page: "2"}}
    paginate: {style: link_header}
    fields: {id: id}
`
	pages, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "id"); !slices.Equal(got, numbers(0, 5)) {
		t.Fatalf("ids %v", got)
	}
	if n := len(api.requests()); n != 3 {
		t.Errorf("%d requests", n)
	}
}
