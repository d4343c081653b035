package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	start, _ := strconv.Atoi(r.URL.Query().Get("start"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
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
	if more {
		pag["next_start"] = start + limit
	}
	json.NewEncoder(w).Encode(map[string]any{"success": true, "data": data,
		"additional_data": map[string]any{"pagination": pag}})
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
