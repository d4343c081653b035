package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
)

// pipedrive is a Pipedrive-v1-shaped server: {success, data,
// additional_data.pagination} envelopes, ?start=&limit= paging with
// more_items_in_collection, api_token in the query, and a hidden error (an
// HTTP 200 whose body is {"success":false,"error":"Internal error"}) on
// every errEvery-th request.
type pipedrive struct {
	mu       sync.Mutex
	persons  int
	errEvery int // 0: never
	failAt   int // start offset that fails for good (0: none)
	requests int
	starts   []int // start of every request that got records
}

func (p *pipedrive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Query().Get("api_token") != "tok" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"success":false,"error":"You need to be authorized to make this request.","errorCode":401}`)
		return
	}
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("start"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	if c := q.Get("cursor"); c != "" { // v2: an opaque cursor
		start, _ = strconv.Atoi(strings.TrimPrefix(c, "c"))
	}
	if pg := q.Get("page"); pg != "" {
		n, _ := strconv.Atoi(pg)
		start = (n - 1) * limit
	}
	if (p.errEvery > 0 && p.requests%p.errEvery == 0) || (p.failAt > 0 && start == p.failAt) {
		fmt.Fprint(w, `{"success":false,"error":"Internal error"}`)
		return
	}
	var data []map[string]any
	for i := start; i < min(start+limit, p.persons); i++ {
		country, phone := "US", fmt.Sprintf("(415) 555-%04d", i%10000)
		if i%3 == 0 {
			country, phone = "GB", fmt.Sprintf("020 7946 %04d", i%10000)
		}
		data = append(data, map[string]any{"id": i + 1, "name": fmt.Sprintf("Person %d", i+1),
			"org_id": map[string]any{"value": 100 + i%7, "name": "Org"}, "country": country,
			"phone": []map[string]any{{"label": "work", "value": phone, "primary": true}}})
	}
	p.starts = append(p.starts, start)
	more := start+limit < p.persons
	pag := map[string]any{"start": start, "limit": limit, "more_items_in_collection": more}
	add := map[string]any{"pagination": pag}
	if more {
		pag["next_start"] = start + limit
		add["next_cursor"] = fmt.Sprintf("c%d", start+limit)
	}
	json.NewEncoder(w).Encode(map[string]any{"success": true, "data": data, "additional_data": add})
}

const pipedriveYAML = `version: 1
name: pd
source:
  type: http
  base_url: %s
  auth: {type: api_key, query: {api_token: tok}}
  retry: {attempts: 4, initial: 1ms, max: 5ms}
  error_when: 'body?.success != true'
entities:
  persons:
    request: {path: /v1/persons}
    records: data
    paginate: {style: offset, offset_param: start, limit: 50, has_more: additional_data.pagination.more_items_in_collection}
    primary_key: id
    batch_size: 50
    fields:
      id: {path: id, type: integer}
      name: name
      org_id: {path: [org_id.value, org_id], type: integer}
      phone: {path: phone.#(primary==true).value, type: phone, region_from: country}
`

func loadPipedrive(t *testing.T, url, yml string) *pipeline.Plan {
	t.Helper()
	plan, f := pipeline.Load("pd.yaml", []byte(fmt.Sprintf(yml, url)), pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	return plan
}

// TestHiddenErrorsAreRetried: about 3 % of the answers are a 200 saying
// {"success":false}; a full sync retries them like a 5xx and completes in
// one run with every record exactly once.
func TestHiddenErrorsAreRetried(t *testing.T) {
	for _, tc := range []struct {
		name     string
		persons  int
		errEvery int
	}{
		{"every 30th request", 2000, 30},
		{"every 7th request", 600, 7},
		{"none", 120, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &pipedrive{persons: tc.persons, errEvery: tc.errEvery}
			srv := httptest.NewServer(api)
			defer srv.Close()
			plan := loadPipedrive(t, srv.URL, pipedriveYAML)
			dest, db, _ := openSQLite(t)
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
			if r.Err != nil || r.Status != sink.StatusSuccess {
				t.Fatalf("status %s: %v", r.Status, r.Err)
			}
			var n, distinct int
			db.QueryRow(`SELECT count(*), count(DISTINCT id) FROM pd_persons`).Scan(&n, &distinct)
			if n != tc.persons || distinct != tc.persons || r.Created != int64(tc.persons) {
				t.Fatalf("%d rows (%d distinct), created %d: want each of the %d persons once", n, distinct, r.Created, tc.persons)
			}
			var badOrg int
			db.QueryRow(`SELECT count(*) FROM pd_persons WHERE org_id IS NULL OR org_id != 100 + (id - 1) % 7`).Scan(&badOrg)
			if badOrg != 0 {
				t.Fatalf("%d rows without their org_id.value", badOrg)
			}
			var gb, us int
			db.QueryRow(`SELECT count(*) FILTER (WHERE phone LIKE '+44207946%'), count(*) FILTER (WHERE phone LIKE '+1415555%') FROM pd_persons`).Scan(&gb, &us)
			if gb != (tc.persons+2)/3 || gb+us != tc.persons {
				t.Fatalf("%d GB and %d US phones of %d: the record's country is the phone's region", gb, us, tc.persons)
			}
			if tc.errEvery > 0 && r.Retries == 0 {
				t.Fatal("no retries counted")
			}
		})
	}
}

// TestFullReadResumes: a full read of an entity without incremental that
// fails half way (a page whose hidden error outlasts the retries) keeps
// the pages before it and commits its position with them; the next run
// continues from that page, not from the first, and the one after a
// complete read starts over. replace must see everything in one run: it
// starts over.
func TestFullReadResumes(t *testing.T) {
	const persons, failAt = 500, 300
	cases := []struct {
		name, paginate, write string
		firstOfRun2           int // start of run 2's first request
	}{
		{"offset", `{style: offset, offset_param: start, limit: 50, has_more: additional_data.pagination.more_items_in_collection}`, "", failAt},
		{"page", `{style: page, page_param: page, limit_param: limit, limit: 50}`, "", failAt},
		{"cursor", `{style: cursor, cursor: additional_data.next_cursor, param: cursor}`, "", failAt},
		{"replace starts over", `{style: offset, offset_param: start, limit: 50, has_more: additional_data.pagination.more_items_in_collection}`, "write: replace", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := &pipedrive{persons: persons, failAt: failAt}
			srv := httptest.NewServer(api)
			defer srv.Close()
			yml := strings.NewReplacer("PAGINATE", tc.paginate, "WRITE", tc.write).Replace(`version: 1
name: pd
source:
  type: http
  base_url: %s
  auth: {type: api_key, query: {api_token: tok}}
  retry: {attempts: 2, initial: 1ms, max: 2ms}
  error_when: 'body?.success != true'
entities:
  persons:
    request: {path: /v1/persons, params: {limit: "50"}}
    records: data
    paginate: PAGINATE
    primary_key: id
    batch_size: 50
    WRITE
    fields:
      id: {path: id, type: integer}
      name: name
`)
			plan := loadPipedrive(t, srv.URL, yml)
			dest, db, _ := openSQLite(t)
			count := func() (n, distinct int) {
				db.QueryRow(`SELECT count(*), count(DISTINCT id) FROM pd_persons`).Scan(&n, &distinct)
				return
			}
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
			if r.Status != sink.StatusFailed {
				t.Fatalf("run 1: status %s, want failed (%v)", r.Status, r.Err)
			}
			if tc.write == "" {
				if n, _ := count(); n != failAt {
					t.Fatalf("run 1 kept %d rows, want the %d before the failing page", n, failAt)
				}
			}
			api.mu.Lock()
			api.failAt, api.starts = 0, nil
			api.mu.Unlock()
			r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
			if r.Err != nil || r.Status != sink.StatusSuccess {
				t.Fatalf("run 2: status %s: %v", r.Status, r.Err)
			}
			api.mu.Lock()
			starts := append([]int(nil), api.starts...)
			api.starts = nil
			api.mu.Unlock()
			if len(starts) == 0 || starts[0] != tc.firstOfRun2 {
				t.Fatalf("run 2 requested starts %v, want it to begin at %d", starts, tc.firstOfRun2)
			}
			if n, distinct := count(); n != persons || distinct != persons {
				t.Fatalf("after run 2: %d rows (%d distinct), want %d once each", n, distinct, persons)
			}
			if want := int64(persons - failAt); tc.write == "" && r.Processed != want {
				t.Fatalf("run 2 processed %d records, want the %d after the failed page", r.Processed, want)
			}
			r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
			api.mu.Lock()
			starts = append([]int(nil), api.starts...)
			api.mu.Unlock()
			if r.Err != nil || len(starts) == 0 || starts[0] != 0 || r.Processed != persons {
				t.Fatalf("run 3 after a complete read: err %v, starts %v, processed %d; want a read from the start", r.Err, starts, r.Processed)
			}
		})
	}
}
