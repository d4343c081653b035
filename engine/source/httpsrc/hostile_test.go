package httpsrc

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// oneEntity is a source with one entity whose body is the record array;
// SETTINGS is replaced by extra source settings.
const oneEntity = `
version: 1
name: t
source:
  type: http
  base_url: BASE
  timeout: 5s
  retry: {attempts: 2, initial: 10ms, max: 20ms}
  auth: {type: api_key, query: {hapikey: "${env:KEY}"}}
  SETTINGS
entities:
  items:
    request: {path: /items}
    records: data
    fields: {id: id}
`

func oneEntityWith(settings string) string {
	return strings.Replace(oneEntity, "SETTINGS", settings, 1)
}

// TestHostileBodies: a body too deep to parse or too large to hold fails
// the page with an error naming the request, before any parser sees it;
// a deep-looking string is only text.
func TestHostileBodies(t *testing.T) {
	deep := strings.Repeat("[", 24<<20) // 24 MB: gjson would overflow the stack
	deepObj := `{"data":` + strings.Repeat(`{"a":`, 600) + "1" + strings.Repeat("}", 600) + "}"
	cases := []struct {
		name     string
		settings string
		body     string
		chunked  bool
		wantErr  string // "" = success
		wantIDs  []string
		wantReqs int
	}{
		{"24 MB of [", "", deep, false,
			`entity "items": page 1: GET BASE/items?hapikey=REDACTED: status 200: the body nests arrays and objects more than 512 levels deep (max_depth; at byte 512); not parsed`, nil, 1},
		{"24 MB of [ chunked", "", deep, true, `more than 512 levels deep`, nil, 1},
		{"600 nested objects", "", deepObj, false, `more than 512 levels deep`, nil, 1},
		{"max_depth raised", "max_depth: 1000", deepObj, false, `the records path "data" holds an object`, nil, 1},
		{"brackets in strings are text", "max_depth: 4",
			`{"data":[{"id":"[[[[[[{{{{\"[[[[["},{"id":"2\\"}]}`, false, "", []string{`[[[[[[{{{{"[[[[[`, `2\`}, 1},
		{"Content-Length above max_body_bytes", "max_body_bytes: 1000", `{"data":[` + strings.Repeat(`{"id":1},`, 200) + `{"id":2}]}`, false,
			`entity "items": page 1: GET BASE/items?hapikey=REDACTED: status 200: reading the body: the body is 1819 bytes (Content-Length), above max_body_bytes (1000 bytes); not read`, nil, 1},
		{"chunked body above max_body_bytes", "max_body_bytes: 1000", `{"data":[` + strings.Repeat(`{"id":1},`, 200) + `{"id":2}]}`, true,
			`status 200: reading the body: the body is larger than max_body_bytes (1000 bytes); stopped reading it`, nil, 1},
		{"body at max_body_bytes", "max_body_bytes: 21", `{"data":[{"id":"7"}]}`, false, "", []string{"7"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				w.Header().Set("Content-Type", "application/json")
				if !tc.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(tc.body)))
				}
				w.WriteHeader(200)
				for b := tc.body; len(b) > 0; {
					k := min(len(b), 64<<10)
					if _, err := w.Write([]byte(b[:k])); err != nil {
						return
					}
					if tc.chunked {
						w.(http.Flusher).Flush()
					}
					b = b[k:]
				}
			})
			r := openYAML(t, oneEntityWith(tc.settings), api.URL, map[string]string{"KEY": "sekrit-key"})
			pages, err := readAllPages(t, r, source.ReadState{})
			if n := len(api.requests()); n != tc.wantReqs {
				t.Errorf("%d requests, want %d (not retried)", n, tc.wantReqs)
			}
			if strings.Contains(fmt.Sprint(err), "sekrit") {
				t.Errorf("secret leaked: %v", err)
			}
			if tc.wantErr != "" {
				want := strings.ReplaceAll(tc.wantErr, "BASE", api.URL)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err %v\nwant %s", err, want)
				}
				if len(err.Error()) > 2000 {
					t.Errorf("error of %d bytes quotes the body", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, tc.wantIDs) {
				t.Fatalf("ids %q, want %q", got, tc.wantIDs)
			}
		})
	}
}

// TestStalls: a server that sends headers and then nothing, or nothing at
// all, fails the attempt after idle_timeout or header_timeout (well before
// the total timeout of 30s); the attempt is retried, and a stall that
// never clears fails the page naming the setting.
func TestStalls(t *testing.T) {
	cases := []struct {
		name    string
		stall   func(w http.ResponseWriter, r *http.Request)
		always  bool
		wantErr string
	}{
		{"headers then silence", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			w.Write([]byte(`{"data":[{"id":1},`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, false, ""},
		{"no headers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, false, ""},
		{"headers then silence, always", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, true, `entity "items": page 1: GET BASE/items?hapikey=REDACTED: status 200: reading the body: no body bytes for 200ms (idle_timeout) (after 2 tries)`},
		{"no headers, always", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, true,
			`entity "items": page 1: GET BASE/items?hapikey=REDACTED: no response headers for 300ms (header_timeout) (after 2 tries)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				if tc.always || n == 1 {
					tc.stall(w, r)
					return
				}
				writeJSON(w, 200, []byte(`{"data":[{"id":1},{"id":2}]}`))
			})
			yml := strings.Replace(oneEntityWith("header_timeout: 300ms\n  idle_timeout: 200ms"), "timeout: 5s", "timeout: 30s", 1)
			r := openYAML(t, yml, api.URL, map[string]string{"KEY": "sekrit-key"})
			pages, err := readAllPages(t, r, source.ReadState{})
			if n := len(api.requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
			if tc.wantErr != "" {
				want := strings.ReplaceAll(tc.wantErr, "BASE", api.URL)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err %v\nwant %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, []string{"1", "2"}) {
				t.Fatalf("ids %v", got)
			}
			if !strings.Contains(r.logs.String(), "retrying") {
				t.Errorf("the stall was not logged as a retry:\n%s", r.logs)
			}
		})
	}
}

// TestEmptyPages: a cursor API that keeps handing out new cursors for
// pages without records is paged max_empty_pages (default 3) pages in a
// row and then left, with a warning naming the entity; empty pages
// between full ones do not count against it.
func TestEmptyPages(t *testing.T) {
	cases := []struct {
		name     string
		paginate string
		full     func(page int) bool // the page holds a record
		wantIDs  []string
		wantReqs int
		wantWarn bool
	}{
		{"default: 3", "", func(p int) bool { return p <= 2 }, []string{"1", "2"}, 5, true},
		{"0 is the default", "max_empty_pages: 0", func(p int) bool { return p <= 2 }, []string{"1", "2"}, 5, true},
		{"max_empty_pages: 1", "max_empty_pages: 1", func(p int) bool { return p <= 2 }, []string{"1", "2"}, 3, true},
		{"empty from the start", "", func(p int) bool { return false }, nil, 3, true},
		{"gaps shorter than the limit", "", func(p int) bool { return p%3 == 0 }, []string{"3", "6", "9", "12"}, 12, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				recs, next := "[]", fmt.Sprintf(`"c%d"`, n+1)
				if tc.full(n) {
					recs = fmt.Sprintf(`[{"id":%d}]`, n)
				}
				if n >= 12 && !tc.wantWarn {
					next = `""` // this server ends
				}
				writeJSON(w, 200, []byte(`{"data":`+recs+`,"next":`+next+`}`))
			})
			yml := strings.Replace(oneEntityWith(""), "records: data", "records: data\n    paginate: {style: cursor, cursor: next, param: after, "+tc.paginate+"}", 1)
			r := openYAML(t, yml, api.URL, map[string]string{"KEY": "sekrit-key"})
			pages, err := readAllPages(t, r, source.ReadState{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, tc.wantIDs) {
				t.Errorf("ids %v, want %v", got, tc.wantIDs)
			}
			if n := len(api.requests()); n != tc.wantReqs {
				t.Errorf("%d requests, want %d", n, tc.wantReqs)
			}
			warned := strings.Contains(r.logs.String(), `level=WARN msg="entity \"items\": 3 pages in a row had no records`) ||
				strings.Contains(r.logs.String(), `level=WARN msg="entity \"items\": 1 page in a row had no records`)
			if warned != tc.wantWarn {
				t.Errorf("warned %v, want %v:\n%s", warned, tc.wantWarn, r.logs)
			}
		})
	}
}
