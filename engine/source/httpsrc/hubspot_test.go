package httpsrc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

const hubspotList = `
version: 1
name: hubspot
source:
  type: http
  base_url: BASE
  auth: {type: bearer, token: "${env:HUBSPOT_TOKEN}"}
  headers: {Accept-Language: en}
  # the source's pagination: inherited by contacts, which sets none
  paginate: {style: cursor, cursor: paging.next.after, param: after}
  records: results
entities:
  contacts:
    request:
      path: /crm/v3/objects/contacts
      params: {limit: "2", properties: "email,firstname,lastname,lastmodifieddate", archived: "false"}
    primary_key: id
    fields: {id: id}
`

// TestHubSpotList replays two recorded list pages: the cursor from
// paging.next.after goes back as ?after=, the source's paginate and records
// are inherited, and the last page (no paging) ends the read.
func TestHubSpotList(t *testing.T) {
	pages := [][]byte{fixture(t, "hubspot/contacts_1.json"), fixture(t, "hubspot/contacts_2.json")}
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		if n > len(pages) {
			http.Error(w, "too many requests", 500)
			return
		}
		writeJSON(w, 200, pages[n-1])
	})
	r := openYAML(t, hubspotList, api.URL, map[string]string{"HUBSPOT_TOKEN": "pat-na1-secret"})
	got, err := readAllPages(t, r, source.ReadState{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"512", "513", "525"}; !slices.Equal(ids(got, "id"), want) {
		t.Fatalf("ids %v, want %v", ids(got, "id"), want)
	}
	if got[0].Number != 1 || got[1].Number != 2 || got[0].Total != -1 {
		t.Fatalf("page numbers/total: %+v", got)
	}
	reqs := api.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, q := range reqs {
		if q.Method != "GET" || q.Path != "/crm/v3/objects/contacts" {
			t.Errorf("request %d: %s %s", i, q.Method, q.Path)
		}
		if q.Query.Get("limit") != "2" || q.Query.Get("properties") != "email,firstname,lastname,lastmodifieddate" || q.Query.Get("archived") != "false" {
			t.Errorf("request %d: query %v", i, q.Query)
		}
		if q.Header.Get("Authorization") != "Bearer pat-na1-secret" || q.Header.Get("User-Agent") != "crmsync/test" || q.Header.Get("Accept-Language") != "en" {
			t.Errorf("request %d: headers %v", i, q.Header)
		}
	}
	if reqs[0].Remote != reqs[1].Remote {
		t.Errorf("a new connection per page: %s, %s", reqs[0].Remote, reqs[1].Remote)
	}
	if reqs[0].Query.Has("after") || reqs[1].Query.Get("after") != "NTI1Cg%3D%3D" {
		t.Errorf("after: %q then %q", reqs[0].Query.Get("after"), reqs[1].Query.Get("after"))
	}
	st := r.Reader.(source.StatsReporter).Stats()
	if st.APICalls != 2 || st.Retries != 0 {
		t.Errorf("stats %+v", st)
	}
}

// contact is a search fixture record: HubSpot's shape, with a
// lastmodifieddate that several records share.
type contact struct {
	id int
	ts time.Time
}

func (c contact) json() string {
	ts := c.ts.UTC().Format("2006-01-02T15:04:05.000Z")
	return fmt.Sprintf(`{"id":"%d","properties":{"createdate":"2019-10-30T03:30:17.883Z","email":"user%d@example.com","hs_object_id":"%d","lastmodifieddate":"%s"},"createdAt":"2019-10-30T03:30:17.883Z","updatedAt":"%s","archived":false}`,
		c.id, c.id, c.id, ts, ts)
}

// searchServer answers POST /crm/v3/objects/contacts/search like HubSpot:
// a GTE filter on lastmodifieddate (epoch ms), sorted ascending, limit and
// after in the body, total in the answer, and a hard cap on after.
func searchServer(t *testing.T, recs []contact, capAt int) *fakeAPI {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, body string, _ int) {
		if r.Method != "POST" || r.URL.Path != "/crm/v3/objects/contacts/search" {
			http.Error(w, "not found", 404)
			return
		}
		var req struct {
			FilterGroups []struct {
				Filters []struct{ PropertyName, Operator, Value string }
			}
			Limit int
			After string
		}
		if err := json.Unmarshal([]byte(body), &req); err != nil || len(req.FilterGroups) != 1 || req.Limit == 0 {
			writeJSON(w, 400, []byte(`{"status":"error","message":"bad body","category":"VALIDATION_ERROR"}`))
			return
		}
		f := req.FilterGroups[0].Filters[0]
		from, err := strconv.ParseInt(f.Value, 10, 64)
		if f.PropertyName != "lastmodifieddate" || f.Operator != "GTE" || err != nil {
			writeJSON(w, 400, []byte(`{"status":"error","message":"bad filter","category":"VALIDATION_ERROR"}`))
			return
		}
		var hits []contact
		for _, c := range recs {
			if c.ts.UnixMilli() >= from {
				hits = append(hits, c)
			}
		}
		after, _ := strconv.Atoi(req.After)
		if after >= capAt {
			writeJSON(w, 400, fixture(t, "hubspot/search_cap_400.json"))
			return
		}
		end := min(after+req.Limit, len(hits), capAt)
		var b strings.Builder
		fmt.Fprintf(&b, `{"total":%d,"results":[`, len(hits))
		for i, c := range hits[after:end] {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(c.json())
		}
		b.WriteString("]")
		if end < len(hits) {
			fmt.Fprintf(&b, `,"paging":{"next":{"after":"%d","link":"?after=%d"}}`, end, end)
		}
		b.WriteString("}")
		writeJSON(w, 200, []byte(b.String()))
	})
}

const hubspotSearch = `
version: 1
name: hubspot
source:
  type: http
  base_url: BASE
  auth: {type: bearer, token: tok}
entities:
  contacts:
    request:
      method: POST
      path: /crm/v3/objects/contacts/search
      body:
        filterGroups:
          - filters:
              - {propertyName: lastmodifieddate, operator: GTE, value: "{{ watermark }}"}
        sorts: [{propertyName: lastmodifieddate, direction: ASCENDING}]
        properties: [email, lastmodifieddate]
        limit: LIMIT
    records: results
    paginate:
      style: cursor
      cursor: paging.next.after
      param: after
      in: body
      total: total
      restart_after: CAP
      restart_watermark: properties.lastmodifieddate
    incremental: {field: updated_at, format: epoch_ms}
    primary_key: id
    fields: {id: id}
`

func searchYAML(limit, capAt int) string {
	return strings.NewReplacer("LIMIT", strconv.Itoa(limit), "CAP", strconv.Itoa(capAt)).Replace(hubspotSearch)
}

// TestHubSpotSearchCap reads 23,456 contacts through a search capped at
// 10,000 results per query: the reader restarts the query from the newest
// lastmodifieddate seen, never asks past the cap, and drops the records
// the restart brings back, so every record arrives once, in order.
func TestHubSpotSearchCap(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []contact
	for i := range 23456 {
		recs = append(recs, contact{id: i, ts: base.Add(time.Duration(i/3) * time.Second)}) // three share each time
	}
	api := searchServer(t, recs, 10000)
	r := openYAML(t, searchYAML(200, 10000), api.URL, nil)
	got, err := readAllPages(t, r, source.ReadState{Watermark: strconv.FormatInt(base.UnixMilli(), 10)})
	if err != nil {
		t.Fatal(err)
	}
	if want := numbers(0, len(recs)-1); !slices.Equal(ids(got, "id"), want) {
		g := ids(got, "id")
		t.Fatalf("got %d records (first %v), want %d once each in order", len(g), g[:min(5, len(g))], len(want))
	}
	var restarts []string
	for i, q := range api.requests() {
		b := gjson.Parse(q.Body)
		if b.Get("limit").Int() != 200 || b.Get("sorts.0.propertyName").String() != "lastmodifieddate" {
			t.Fatalf("request %d body %s", i, q.Body)
		}
		if i > 0 && !b.Get("after").Exists() {
			restarts = append(restarts, b.Get("filterGroups.0.filters.0.value").String())
		}
	}
	// Each restart starts at the lastmodifieddate of the last record read.
	want := []string{
		strconv.FormatInt(recs[9999].ts.UnixMilli(), 10),
		strconv.FormatInt(recs[9999+9999].ts.UnixMilli(), 10), // query 2 starts with record 9999 again
	}
	if !slices.Equal(restarts, want) {
		t.Errorf("restarts at %v, want %v", restarts, want)
	}
	if got[0].Total != len(recs) {
		t.Errorf("page 1 total %d", got[0].Total)
	}
}

// TestHubSpotSearchStuck: more records share one value than the cap
// allows; restarting cannot make progress, and the reader says so.
func TestHubSpotSearchStuck(t *testing.T) {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []contact
	for i := range 30 {
		recs = append(recs, contact{id: i, ts: base})
	}
	api := searchServer(t, recs, 10)
	r := openYAML(t, searchYAML(5, 10), api.URL, nil)
	_, err := readAllPages(t, r, source.ReadState{Watermark: "0"})
	if err == nil || !strings.Contains(err.Error(), "more than 10 records share properties.lastmodifieddate") {
		t.Fatalf("err %v", err)
	}
	if n := len(api.requests()); n > 6 {
		t.Errorf("%d requests: the reader kept going", n)
	}
}
