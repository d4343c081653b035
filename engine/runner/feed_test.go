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
	"time"

	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
)

// feedCRM is Pipedrive-shaped: a list endpoint (/v1/persons, offset
// paging, org_id as an object, no "updated since") and a change feed
// (/v1/recents?since_timestamp=, records wrapped as {item, id, data},
// "data": null when nothing changed, org_id as a plain id).
type feedCRM struct {
	mu      sync.Mutex
	persons []feedPerson
	calls   map[string]int // path → requests
}

type feedPerson struct {
	id      int
	name    string
	org     int
	updated time.Time
}

const pdTime = "2006-01-02 15:04:05"

func (c *feedCRM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[r.URL.Path]++
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("start"))
	limit, _ := strconv.Atoi(q.Get("limit"))
	var data []any
	total := 0
	switch r.URL.Path {
	case "/v1/persons":
		for i := start; i < min(start+limit, len(c.persons)); i++ {
			p := c.persons[i]
			data = append(data, map[string]any{"id": p.id, "name": p.name, "org_id": map[string]any{"value": p.org, "name": "Org"},
				"update_time": p.updated.Format(pdTime)})
		}
		total = len(c.persons)
	case "/v1/recents":
		since, err := time.Parse(pdTime, q.Get("since_timestamp"))
		if err != nil || q.Get("items") != "person" {
			w.WriteHeader(400)
			fmt.Fprint(w, `{"success":false,"error":"bad since_timestamp"}`)
			return
		}
		var changed []feedPerson
		for _, p := range c.persons {
			if p.updated.After(since) {
				changed = append(changed, p)
			}
		}
		for i := start; i < min(start+limit, len(changed)); i++ {
			p := changed[i]
			data = append(data, map[string]any{"item": "person", "id": p.id, "data": map[string]any{"id": p.id, "name": p.name,
				"org_id": p.org, "update_time": p.updated.Format(pdTime)}})
		}
		total = len(changed)
	default:
		w.WriteHeader(404)
		return
	}
	body := map[string]any{"success": true, "data": data, "additional_data": map[string]any{"pagination": map[string]any{
		"start": start, "limit": limit, "more_items_in_collection": start+limit < total}}}
	if data == nil {
		body["data"] = nil // Pipedrive's empty feed
	}
	json.NewEncoder(w).Encode(body)
}

const feedYAML = `version: 1
name: pd
source:
  type: http
  base_url: %s
  error_when: 'body?.success != true'
  paginate: {style: offset, offset_param: start, limit: 20, has_more: additional_data.pagination.more_items_in_collection}
entities:
  persons:
    request: {path: /v1/persons}
    records: data
    incremental_request:
      path: /v1/recents
      params: {items: person, since_timestamp: "{{ watermark }}"}
      records: data.#.data
    incremental: {field: update_time, format: datetime}
    primary_key: id
    fields:
      id: {path: id, type: integer}
      name: name
      org_id: {path: [org_id.value, org_id], type: integer}
      update_time: {path: update_time, type: datetime, timezone: UTC}
`

// TestListAndChangeFeed: one table, two readers. The first run and --full
// read the list endpoint; incremental runs read the change feed from the
// stored watermark, through the same checkpoint; an empty feed
// ("data": null) is an empty read, not an error.
func TestListAndChangeFeed(t *testing.T) {
	base := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	c := &feedCRM{calls: map[string]int{}}
	for i := 1; i <= 55; i++ {
		c.persons = append(c.persons, feedPerson{id: i, name: fmt.Sprintf("Person %d", i), org: 100 + i%5, updated: base.Add(time.Duration(i) * time.Minute)})
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	plan := loadPipedrive(t, srv.URL, feedYAML)
	dest, db, _ := openSQLite(t)
	sync := func(full bool) *runner.Result {
		c.mu.Lock()
		clear(c.calls)
		c.mu.Unlock()
		r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Full: full})
		if r.Err != nil || r.Status != sink.StatusSuccess {
			t.Fatalf("status %s: %v", r.Status, r.Err)
		}
		return r
	}
	calls := func() string {
		c.mu.Lock()
		defer c.mu.Unlock()
		return fmt.Sprintf("persons=%d recents=%d", c.calls["/v1/persons"], c.calls["/v1/recents"])
	}
	rows := func() string {
		var n, orgs int
		var names []string
		db.QueryRow(`SELECT count(*), count(org_id) FROM pd_persons`).Scan(&n, &orgs)
		rs, _ := db.Query(`SELECT name FROM pd_persons WHERE name LIKE '%!%' ESCAPE '\' OR id > 55 ORDER BY id`)
		for rs.Next() {
			var s string
			rs.Scan(&s)
			names = append(names, s)
		}
		rs.Close()
		return fmt.Sprintf("%d rows, %d with org, changed %v", n, orgs, names)
	}

	steps := []struct {
		name   string
		change func()
		full   bool
		calls  string
		proc   int64
		rows   string
	}{
		{"first run reads the list", nil, false, "persons=3 recents=0", 55, "55 rows, 55 with org, changed []"},
		{"changes come from the feed", func() {
			for _, i := range []int{3, 40} {
				c.persons[i-1].name += "!"
				c.persons[i-1].updated = base.Add(2 * time.Hour)
			}
			c.persons = append(c.persons, feedPerson{id: 56, name: "New!", org: 7, updated: base.Add(2 * time.Hour)})
		}, false, "persons=0 recents=1", 3, "56 rows, 56 with org, changed [Person 3! Person 40! New!]"},
		{"nothing changed: data null", nil, false, "persons=0 recents=1", 0, "56 rows, 56 with org, changed [Person 3! Person 40! New!]"},
		{"--full reads the list again", nil, true, "persons=3 recents=0", 56, "56 rows, 56 with org, changed [Person 3! Person 40! New!]"},
	}
	for _, st := range steps {
		if st.change != nil {
			c.mu.Lock()
			st.change()
			c.mu.Unlock()
		}
		r := sync(st.full)
		if got := calls(); got != st.calls {
			t.Fatalf("%s: %s, want %s", st.name, got, st.calls)
		}
		if r.Processed != st.proc {
			t.Fatalf("%s: processed %d, want %d", st.name, r.Processed, st.proc)
		}
		if got := rows(); got != st.rows {
			t.Fatalf("%s: %s, want %s", st.name, got, st.rows)
		}
	}
}

// TestPipedriveLikeEndToEnd is the "done when": a fresh pipeline
// for a Pipedrive-v1-like API reads the list endpoint on the first run
// and --full, the change feed on increments, names its custom field by
// label through a lookup, paces itself at 40 requests per 2 s, and
// completes at a 3 % hidden-error rate in one run with every record
// exactly once.
func TestPipedriveLikeEndToEnd(t *testing.T) {
	const leadKey = "0123456789abcdef0123456789abcdef01234567"
	base := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	c := &feedCRM{calls: map[string]int{}}
	for i := 1; i <= 400; i++ {
		c.persons = append(c.persons, feedPerson{id: i, name: fmt.Sprintf("Person %d", i), org: 100 + i%5, updated: base.Add(time.Duration(i) * time.Minute)})
	}
	var n, hidden int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		fail := n%33 == 0 // about 3 %
		if fail {
			hidden++
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case fail:
			fmt.Fprint(w, `{"success":false,"error":"Internal error"}`)
		case r.URL.Path == "/v1/personFields":
			fmt.Fprintf(w, `{"success":true,"data":[{"key":%q,"name":"Lead source","options":[{"id":1,"label":"Web"}]}],"additional_data":{"pagination":{"more_items_in_collection":false}}}`, leadKey)
		default:
			c.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	yml := strings.Replace(feedYAML, "  error_when: 'body?.success != true'\n", `  error_when: 'body?.success != true'
  retry: {attempts: 4, initial: 1ms, max: 5ms}
  rate_limit: {requests: 40, per: 100ms, burst: 40}
  lookups:
    person_fields: {request: {path: /v1/personFields}, records: data, key: name}
`, 1)
	yml = strings.Replace(yml, "      update_time:", "      lead_source_key: {expr: 'lookup.person_fields[\"Lead source\"].key'}\n      update_time:", 1)
	plan := loadPipedrive(t, srv.URL, yml)
	dest, db, _ := openSQLite(t)
	check := func(step string, full bool, want int) {
		t.Helper()
		r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Full: full})
		if r.Err != nil || r.Status != sink.StatusSuccess {
			t.Fatalf("%s: status %s: %v", step, r.Status, r.Err)
		}
		var rows, distinct, keyed int
		db.QueryRow(`SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE lead_source_key = ?) FROM pd_persons`, leadKey).Scan(&rows, &distinct, &keyed)
		if rows != want || distinct != want || keyed != want {
			t.Fatalf("%s: %d rows, %d distinct, %d with the lookup's key; want %d", step, rows, distinct, keyed, want)
		}
	}
	check("first run", false, 400)
	c.mu.Lock()
	c.persons[9].name += "!"
	c.persons[9].updated = base.Add(24 * time.Hour)
	c.persons = append(c.persons, feedPerson{id: 401, name: "New", org: 1, updated: base.Add(24 * time.Hour)})
	clear(c.calls)
	c.mu.Unlock()
	check("increment", false, 401)
	c.mu.Lock()
	feedCalls, listCalls := c.calls["/v1/recents"], c.calls["/v1/persons"]
	c.mu.Unlock()
	if feedCalls == 0 || listCalls != 0 {
		t.Fatalf("increment: %d feed and %d list requests; want the feed only", feedCalls, listCalls)
	}
	check("--full", true, 401)
	mu.Lock()
	defer mu.Unlock()
	if hidden == 0 {
		t.Fatal("no hidden error was served")
	}
}
