package httpsrc

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
	"golang.org/x/time/rate"
)

// TestRateLimit: a server that allows 20 requests a second (a token
// bucket; 429 above) is never overrun by a reader limited to 20 a second,
// and a reader set faster recovers through retries without losing or
// doubling a record.
func TestRateLimit(t *testing.T) {
	const n, pages = 20, 60
	for _, perSecond := range []int{n, 2 * n} {
		t.Run(strconv.Itoa(perSecond), func(t *testing.T) {
			t.Parallel()
			lim := rate.NewLimiter(n, n)
			var rejected atomic.Int64
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				if !lim.Allow() {
					rejected.Add(1)
					writeJSON(w, 429, fixture(t, "hubspot/rate_limit_429.json"))
					return
				}
				p, _ := strconv.Atoi(r.URL.Query().Get("page"))
				if p > pages {
					writeJSON(w, 200, []byte("[]"))
					return
				}
				writeJSON(w, 200, []byte(items(p, p+1)))
			})
			yml := fmt.Sprintf(`
version: 1
name: rl
source:
  type: http
  base_url: BASE
  rate_limit: {per_second: %d}
  retry: {attempts: 10, initial: 20ms, max: 200ms}
entities:
  items: {request: {path: /items}, paginate: {style: page}, fields: {id: id}}
`, perSecond)
			r := openYAML(t, yml, api.URL, nil)
			got, err := readAllPages(t, r, source.ReadState{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got, "id"), numbers(1, pages)) {
				t.Fatalf("ids %v", ids(got, "id"))
			}
			st := r.Reader.(source.StatsReporter).Stats()
			if perSecond == n {
				if rejected.Load() != 0 || st.Retries != 0 {
					t.Errorf("limited to the server's rate, yet %d requests got 429", rejected.Load())
				}
			} else if rejected.Load() == 0 || st.Retries != rejected.Load() {
				t.Errorf("%d rejected, stats %+v", rejected.Load(), st)
			}
			if st.RateLimitWait <= 0 {
				t.Errorf("no rate-limit wait counted: %+v", st)
			}
		})
	}
}

// TestRemainingHeader: the reader slows down when the server says no
// calls remain, before it would answer 429: GitHub's epoch-seconds reset
// and HubSpot's rolling window without a reset header.
func TestRemainingHeader(t *testing.T) {
	cases := []struct {
		name, remaining, reset, extra string
		window                        time.Duration
	}{
		{"hubspot window", "X-HubSpot-RateLimit-Remaining", "", "window: 300ms", 300 * time.Millisecond},
		{"github reset", "X-RateLimit-Remaining", "X-RateLimit-Reset", "", time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const perWindow = 4
			var used int
			var windowEnd time.Time
			var rejected int
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				now := time.Now()
				if now.After(windowEnd) {
					used = 0
					windowEnd = now.Add(tc.window)
					if tc.reset != "" { // whole seconds, as GitHub sends them
						windowEnd = time.Unix(now.Unix()+1, 0)
					}
				}
				if used >= perWindow {
					rejected++
					w.WriteHeader(429)
					return
				}
				used++
				w.Header().Set(tc.remaining, strconv.Itoa(perWindow-used))
				if tc.reset != "" {
					w.Header().Set(tc.reset, strconv.FormatInt(windowEnd.Unix(), 10))
				}
				p, _ := strconv.Atoi(r.URL.Query().Get("page"))
				if p > 6 {
					writeJSON(w, 200, []byte("[]"))
					return
				}
				writeJSON(w, 200, []byte(items(p, p+1)))
			})
			yml := `
version: 1
name: rh
source:
  type: http
  base_url: BASE
  rate_limit: {remaining_header: REM, reset_header: "RESET", EXTRA}
  retry: {attempts: 1}
entities:
  items: {request: {path: /items}, paginate: {style: page}, fields: {id: id}}
`
			yml = strings.NewReplacer("REM", tc.remaining, "RESET", tc.reset, "EXTRA", tc.extra).Replace(yml)
			yml = strings.Replace(yml, `reset_header: "", `, "", 1)
			r := openYAML(t, yml, api.URL, nil)
			got, err := readAllPages(t, r, source.ReadState{})
			if err != nil {
				t.Fatalf("%v (server rejected %d)", err, rejected)
			}
			if !slices.Equal(ids(got, "id"), numbers(1, 6)) {
				t.Fatalf("ids %v", ids(got, "id"))
			}
			if st := r.Reader.(source.StatsReporter).Stats(); st.RateLimitWait <= 0 || rejected != 0 {
				t.Errorf("stats %+v, rejected %d", st, rejected)
			}
		})
	}
}

// TestBudget: two pipelines naming one budget draw from one bucket; each
// entity's own rate_limit is waited on too.
func TestBudget(t *testing.T) {
	budget := "test-budget-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) { writeJSON(w, 200, []byte(`[{"id":1}]`)) })
	yml := `
version: 1
name: NAME
source: {type: http, base_url: BASE, rate_limit: {per_second: 1000, budget: BUDGET}}
entities:
  items: {request: {path: /items}, fields: {id: id}, rate_limit: {per_second: 1000, budget: BUDGET-search}}
`
	a := openYAML(t, strings.NewReplacer("NAME", "a", "BUDGET", budget).Replace(yml), api.URL, nil)
	b := openYAML(t, strings.NewReplacer("NAME", "b", "BUDGET", budget).Replace(yml), api.URL, nil)
	ra, rb := a.Reader.(*reader), b.Reader.(*reader)
	if ra.src != rb.src || ra.ent != rb.ent || ra.src == ra.ent {
		t.Fatal("pipelines naming one budget do not share its bucket")
	}
	// A per-source bucket is not shared across pipelines.
	c := openYAML(t, strings.NewReplacer("NAME", "c", "budget: BUDGET}}", "burst: 2}}", "BUDGET", budget).Replace(yml), api.URL, nil)
	if c.Reader.(*reader).src == ra.src {
		t.Fatal("a source without a budget shares a bucket")
	}
	if _, err := readAllPages(t, a, source.ReadState{}); err != nil {
		t.Fatal(err)
	}
}

// TestRateLimitRequestsPer: "40 requests per 2 s" (Pipedrive's token
// bucket) written as the API states it. A server with that bucket (429
// above) is never overrun, whether the reader spaces its requests evenly
// (the default) or bursts up to the bucket's size; per_second with a burst
// of 60 overruns it.
func TestRateLimitRequestsPer(t *testing.T) {
	const pages = 50
	cases := []struct {
		name, rateLimit string
		overrun         bool
		minTime         time.Duration
	}{
		{"requests per, evenly spaced", `{requests: 40, per: 2s}`, false, 2 * time.Second}, // 50 at 20/s from one token
		{"requests per with burst", `{requests: 40, per: 2s, burst: 40}`, false, 400 * time.Millisecond},
		{"faster than the bucket", `{per_second: 100, burst: 60}`, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			lim := rate.NewLimiter(20, 40)
			var rejected atomic.Int64
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				if !lim.Allow() {
					rejected.Add(1)
					w.Header().Set("Retry-After", "0")
					writeJSON(w, 429, []byte(`{"success":false,"error":"Request over limit","errorCode":429}`))
					return
				}
				start, _ := strconv.Atoi(r.URL.Query().Get("start"))
				more := start+1 < pages
				writeJSON(w, 200, []byte(fmt.Sprintf(`{"success":true,"data":%s,"additional_data":{"pagination":{"start":%d,"limit":1,"more_items_in_collection":%v}}}`,
					items(start, start+1), start, more)))
			})
			yml := `
version: 1
name: pd
source:
  type: http
  base_url: BASE
  rate_limit: RATE
  retry: {attempts: 20, initial: 10ms, max: 100ms}
entities:
  persons:
    request: {path: /v1/persons}
    records: data
    paginate: {style: offset, offset_param: start, limit: 1, has_more: additional_data.pagination.more_items_in_collection}
    fields: {id: id}
`
			r := openYAML(t, strings.Replace(yml, "RATE", tc.rateLimit, 1), api.URL, nil)
			began := time.Now()
			got, err := readAllPages(t, r, source.ReadState{})
			took := time.Since(began)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got, "id"), numbers(0, pages-1)) {
				t.Fatalf("ids %v", ids(got, "id"))
			}
			if (rejected.Load() > 0) != tc.overrun {
				t.Errorf("%d requests got 429 (overrun expected: %v)", rejected.Load(), tc.overrun)
			}
			if took < tc.minTime-100*time.Millisecond {
				t.Errorf("took %s, want at least %s", took, tc.minTime)
			}
		})
	}
}
