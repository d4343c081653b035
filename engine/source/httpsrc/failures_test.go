package httpsrc

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// twoPages is an entity whose server fails in the ways a test injects and
// otherwise serves items 0-2 and 3-4 on two pages.
const twoPages = `
version: 1
name: t
source:
  type: http
  base_url: BASE
  timeout: 300ms
  retry: {attempts: 3, initial: 10ms, max: 50ms}
  auth: {type: api_key, query: {hapikey: "${env:KEY}"}}
  error_when: 'body?.status == "error" || body?.success == false'
entities:
  items:
    request: {path: /items}
    records: data
    paginate: {style: offset, limit: 3}
    fields: {id: id}
`

func servePage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("offset") == "0" {
		writeJSON(w, 200, []byte(`{"data":`+items(0, 3)+`}`))
		return
	}
	writeJSON(w, 200, []byte(`{"data":`+items(3, 5)+`}`))
}

// TestRetries: each fault hits the first request of page 2 (or every
// request when persistent); transient ones are retried until the records
// arrive once each, the rest fail with the request named and the secret
// hidden.
func TestRetries(t *testing.T) {
	cases := []struct {
		name    string
		fault   func(w http.ResponseWriter, r *http.Request)
		always  bool   // the fault never clears
		wantErr string // substrings of the error; "" = success
		wantReq int    // requests for page 2
	}{
		{"429 without Retry-After", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 429, fixture(t, "hubspot/rate_limit_429.json"))
		}, false, "", 2},
		{"500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "Internal Error", 500) }, false, "", 2},
		{"502 HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			w.Write(fixture(t, "html_502.html"))
		}, false, "", 2},
		{"503 twice", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, false, "", 2},
		{"slower than the timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, false, "", 2},
		{"Content-Length longer than the body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			w.Write([]byte(`{"data":[{"id":3},`))
		}, false, "", 2},
		{"connection cut mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			w.Write([]byte(`{"data":[{"id":3,"name":"item 3"},`))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, false, "", 2},
		{"503 persists", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "upstream down", 503)
		}, true, `entity "items": page 2: GET BASE/items?limit=3&offset=3&hapikey=REDACTED: status 503: the server answered Service Unavailable (after 3 tries) (Content-Type text/plain; charset=utf-8); body starts "upstream down\n"`, 3},
		{"404 is not retried", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 404, []byte(`{"message":"NOT_FOUND","description":"no such list"}`))
		}, true, `status 404: the server answered Not Found; body starts "{\"message\":\"NOT_FOUND\"`, 1},
		{"HTML with status 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(fixture(t, "html_502.html"))
		}, true, `status 200: the body is not JSON (Content-Type text/html; charset=utf-8); body starts "<html>`, 1},
		{"error in a 200 body", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, []byte(`{"status":"error","message":"This hapikey (sekrit-key) doesn't exist."}`))
		}, true, `status 200: the body says the request failed (error_when "body?.status == \"error\" || body?.success == false") (after 3 tries); body starts "{\"status\":\"error\",\"message\":\"This hapikey ([redacted]) doesn't exist.\"}"`, 3},
		{"success false persists", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, []byte(`{"success":false,"data":[]}`))
		}, true, `the body says the request failed`, 3},
		{"success false once is retried", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, []byte(`{"success":false,"error":"Internal error"}`))
		}, false, "", 2},
		{"records path missing", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, []byte(`{"results":[],"paging":{},"total":0}`))
		}, true, `the records path "data" is not in the body (top-level keys: paging, results, total)`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			faults := 0
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				if r.URL.Query().Get("offset") == "3" && (tc.always || faults < 1 || (tc.name == "503 twice" && faults < 2)) {
					faults++
					tc.fault(w, r)
					return
				}
				servePage(w, r)
			})
			r := openYAML(t, twoPages, api.URL, map[string]string{"KEY": "sekrit-key"})
			pages, err := readAllPages(t, r, source.ReadState{})
			page2 := 0
			for _, q := range api.requests() {
				if q.Query.Get("offset") == "3" {
					page2++
				}
				if q.Query.Get("hapikey") != "sekrit-key" {
					t.Errorf("auth query %v", q.Query)
				}
			}
			want := tc.wantReq
			if tc.name == "503 twice" {
				want = 3
			}
			if page2 != want {
				t.Errorf("%d requests for page 2, want %d", page2, want)
			}
			if strings.Contains(fmt.Sprint(err), "sekrit") || strings.Contains(r.logs.String(), "sekrit") {
				t.Errorf("secret leaked: %v\n%s", err, r.logs)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), strings.ReplaceAll(tc.wantErr, "BASE", api.URL)) {
					t.Fatalf("err %v\nwant %s", err, strings.ReplaceAll(tc.wantErr, "BASE", api.URL))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, numbers(0, 4)) {
				t.Fatalf("ids %v", got)
			}
			st := r.Reader.(source.StatsReporter).Stats()
			if st.Retries != int64(want-1) || st.APICalls != int64(want+1) {
				t.Errorf("stats %+v", st)
			}
			if !strings.Contains(r.logs.String(), "retrying") || !strings.Contains(r.logs.String(), "hapikey=REDACTED") {
				t.Errorf("retry not logged with a redacted URL:\n%s", r.logs)
			}
		})
	}
}

// TestRetryAfter: a 429 with Retry-After holds the source back that long,
// and the wait is counted as rate-limit time.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		if n == 2 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, fixture(t, "hubspot/rate_limit_429.json"))
			return
		}
		servePage(w, r)
	})
	r := openYAML(t, twoPages, api.URL, map[string]string{"KEY": "sekrit-key"})
	pages, err := readAllPages(t, r, source.ReadState{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "id"); !slices.Equal(got, numbers(0, 4)) {
		t.Fatalf("ids %v", got)
	}
	// retry.max is 50ms: only Retry-After explains a wait near a second.
	if st := r.Reader.(source.StatsReporter).Stats(); st.RateLimitWait < 900*time.Millisecond || st.Retries != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestCancel: cancelling the context stops a read stuck on a slow server
// (timeout 30s) and one waiting out a long Retry-After.
func TestCancel(t *testing.T) {
	for _, name := range []string{"slow server", "Retry-After"} {
		t.Run(name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				if name == "Retry-After" {
					w.Header().Set("Retry-After", "3600")
					w.WriteHeader(429)
					return
				}
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			})
			yml := strings.Replace(twoPages, "timeout: 300ms", "timeout: 30s", 1)
			r := openYAML(t, yml, api.URL, map[string]string{"KEY": "sekrit-key"})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Read(ctx, source.ReadState{}, func(source.Page) error { return nil }) }()
			time.Sleep(100 * time.Millisecond)
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("err %v", err)
				}
			case <-time.After(time.Second):
				t.Fatal("Read did not stop within a second of cancel")
			}
		})
	}
}

// TestEmitError: an error from emit stops the read and comes back as is.
func TestEmitError(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) { servePage(w, r) })
	r := openYAML(t, twoPages, api.URL, map[string]string{"KEY": "sekrit-key"})
	stop := errors.New("sink full")
	err := r.Read(context.Background(), source.ReadState{}, func(source.Page) error { return stop })
	if err != stop || len(api.requests()) != 1 {
		t.Fatalf("err %v after %d requests", err, len(api.requests()))
	}
}

// TestDeflate reads bodies sent with Content-Encoding: deflate, with and
// without the zlib wrapper.
func TestDeflate(t *testing.T) {
	for _, wrapped := range []bool{true, false} {
		api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
			var b bytes.Buffer
			var zw interface {
				Write([]byte) (int, error)
				Close() error
			}
			if wrapped {
				zw = zlib.NewWriter(&b)
			} else {
				zw, _ = flate.NewWriter(&b, flate.DefaultCompression)
			}
			zw.Write([]byte(`[{"id":1},{"id":2}]`))
			zw.Close()
			w.Header().Set("Content-Encoding", "deflate")
			w.Write(b.Bytes())
		})
		yml := `
version: 1
name: t
source: {type: http, base_url: BASE}
entities:
  items: {request: {path: /x}, fields: {id: id}}
`
		pages, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
		if err != nil {
			t.Fatalf("wrapped=%v: %v", wrapped, err)
		}
		if got := ids(pages, "id"); !slices.Equal(got, []string{"1", "2"}) {
			t.Fatalf("wrapped=%v: ids %v", wrapped, got)
		}
	}
}

// TestErrorWhenArray: a source-wide error_when that looks for body.status
// does not fail the bare-array pages of an API like Arrivy.
func TestErrorWhenArray(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		writeJSON(w, 200, fixture(t, "arrivy/tasks_1.json"))
	})
	yml := `
version: 1
name: t
source: {type: http, base_url: BASE, error_when: 'body?.status == "error"'}
entities:
  tasks: {request: {path: /tasks}, fields: {id: id}}
`
	pages, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
	if err != nil || len(ids(pages, "id")) != 3 {
		t.Fatalf("err %v, %d records", err, len(ids(pages, "id")))
	}
}

// TestErrorWhenRetry: a body error is retried like a 5xx unless its rule
// says retry: false; in a list the first matching rule decides.
func TestErrorWhenRetry(t *testing.T) {
	const bad = `{"success":false,"error":"You need to be authorized to make this request.","errorCode":401}`
	const internal = `{"success":false,"error":"Internal error"}`
	cases := []struct {
		name, errorWhen, body string
		wantReq               int // requests for page 2
		wantErr               string
	}{
		{"plain string retries", `'body?.success != true'`, internal, 2, ""},
		{"mapping retry false", `{expr: 'body?.success != true', retry: false}`, internal, 1, `the body says the request failed (error_when "body?.success != true"); body starts`},
		{"list: permanent match first", `[{expr: 'body?.errorCode == 401', retry: false}, 'body?.success != true']`, bad, 1, `(error_when "body?.errorCode == 401")`},
		{"list: retryable match", `[{expr: 'body?.errorCode == 401', retry: false}, 'body?.success != true']`, internal, 2, ""},
		{"mapping retry true", `{expr: 'body?.success != true', retry: true}`, internal, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			faults := 0
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				if r.URL.Query().Get("offset") == "3" && faults < 1 {
					faults++
					writeJSON(w, 200, []byte(tc.body))
					return
				}
				writeJSON(w, 200, []byte(`{"success":true,"data":`+pageItems(r)+`}`))
			})
			yml := strings.Replace(`
version: 1
name: t
source:
  type: http
  base_url: BASE
  retry: {attempts: 3, initial: 1ms, max: 5ms}
  error_when: ERRORWHEN
entities:
  items:
    request: {path: /items}
    records: data
    paginate: {style: offset, limit: 3}
    fields: {id: id}
`, "ERRORWHEN", tc.errorWhen, 1)
			r := openYAML(t, yml, api.URL, nil)
			pages, err := readAllPages(t, r, source.ReadState{})
			got := 0
			for _, q := range api.requests() {
				if q.Query.Get("offset") == "3" {
					got++
				}
			}
			if got != tc.wantReq {
				t.Errorf("%d requests for page 2, want %d", got, tc.wantReq)
			}
			if tc.wantErr == "" {
				if err != nil || !slices.Equal(ids(pages, "id"), numbers(0, 4)) {
					t.Fatalf("err %v, ids %v", err, ids(pages, "id"))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want %s", err, tc.wantErr)
			}
		})
	}
}

func pageItems(r *http.Request) string {
	if r.URL.Query().Get("offset") == "0" {
		return items(0, 3)
	}
	return items(3, 5)
}

// TestRetryWhen: an error status that is not retried on its own (AWS
// throttles with a 400) is tried again when retry.when says so; other
// 400s still fail at once, and without retry.when the throttle fails too.
func TestRetryWhen(t *testing.T) {
	const throttled = `{"__type":"com.amazonaws.athena#ThrottlingException","message":"Rate exceeded"}`
	const invalid = `{"__type":"com.amazonaws.athena#InvalidRequestException","message":"bad query"}`
	for _, tc := range []struct {
		name, when, fault string
		wantReq           int
		wantErr           string
	}{
		{"throttle retried", `retry: {attempts: 4, initial: 1ms, when: 'status == 400 && body?.__type endsWith "ThrottlingException"'}`, throttled, 3, ""},
		{"other 400 not retried", `retry: {attempts: 4, initial: 1ms, when: 'status == 400 && body?.__type endsWith "ThrottlingException"'}`, invalid, 1, "status 400"},
		{"no retry.when", `retry: {attempts: 4, initial: 1ms}`, throttled, 1, "status 400"},
		{"a list, headers", `retry: {attempts: 4, initial: 1ms, when: ['status == 403 && headers["X-Reason"] == "slow down"', 'status == 400 && body?.message == "Rate exceeded"']}`, throttled, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				n++
				if n <= 2 {
					writeJSON(w, 400, []byte(tc.fault))
					return
				}
				writeJSON(w, 200, []byte(`[{"id":1},{"id":2}]`))
			})
			yml := `
version: 1
name: t
source: {type: http, base_url: BASE, ` + tc.when + `}
entities:
  e: {request: {path: /e}, fields: {id: id}}
`
			pages, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
			if tc.wantErr == "" && (err != nil || len(ids(pages, "id")) != 2) {
				t.Fatalf("err %v, %d records", err, len(ids(pages, "id")))
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want one with %q", err, tc.wantErr)
			}
			if n != tc.wantReq {
				t.Errorf("%d requests, want %d", n, tc.wantReq)
			}
		})
	}
}
