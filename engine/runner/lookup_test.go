package runner_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
)

// TestLookups: custom fields keyed by 40-hex ids that differ per account
// are named by label through a lookup of /v1/personFields, run once per
// sync; option ids become labels through a second lookup.
func TestLookups(t *testing.T) {
	cases := []struct {
		name, leadKey string // the account's key of "Lead source"
		cache         string // the lookups' cache setting
		syncs         int
		wantCalls     int64 // requests to /v1/personFields over all syncs
	}{
		{"account A", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "", 2, 4},
		{"account B", "ffeeddccbbaa99887766554433221100ffeeddcc", "", 1, 2},
		{"cached for an hour", "00112233445566778899aabbccddeeff00112233", ", cache: 1h", 3, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var fieldCalls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch r.URL.Path {
				case "/v1/personFields":
					fieldCalls.Add(1)
					fmt.Fprintf(w, `{"success":true,"data":[
					  {"key":"name","name":"Name","field_type":"varchar"},
					  {"key":%q,"name":"Lead source","field_type":"enum","options":[{"id":7,"label":"Web"},{"id":9,"label":"Referral"}]}],
					 "additional_data":{"pagination":{"more_items_in_collection":false}}}`, tc.leadKey)
				case "/v1/persons":
					fmt.Fprintf(w, `{"success":true,"data":[
					  {"id":1,"name":"Ann","%[1]s":9},
					  {"id":2,"name":"Bob","%[1]s":7},
					  {"id":3,"name":"Cy","%[1]s":null}],
					 "additional_data":{"pagination":{"more_items_in_collection":false}}}`, tc.leadKey)
				default:
					w.WriteHeader(404)
				}
			}))
			defer srv.Close()
			yml := `version: 1
name: pd
source:
  type: http
  base_url: %s
  error_when: 'body?.success != true'
  records: data
  paginate: {style: offset, offset_param: start, limit: 100, has_more: additional_data.pagination.more_items_in_collection}
  lookups:
    person_fields: {request: {path: /v1/personFields}, key: nameCACHE}
    lead_sources: {request: {path: /v1/personFields}, records: 'data.#(name=="Lead source").options', key: idCACHE}
entities:
  persons:
    request: {path: /v1/persons}
    primary_key: id
    fields:
      id: {path: id, type: integer}
      name: name
      lead_source_id: {expr: 'raw[lookup.person_fields["Lead source"].key]', type: integer}
      lead_source: {expr: 'lead_source_id == nil ? nil : lookup.lead_sources[string(lead_source_id)]?.label'}
`
			plan := loadPipedrive(t, srv.URL, strings.ReplaceAll(yml, "CACHE", tc.cache))
			dest, db, _ := openSQLite(t)
			var r *runner.Result
			for range tc.syncs {
				r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
				if r.Err != nil || r.Status != sink.StatusSuccess {
					t.Fatalf("status %s: %v", r.Status, r.Err)
				}
			}
			var got []string
			rows, err := db.Query(`SELECT id, coalesce(lead_source_id, 0), coalesce(lead_source, '∅') FROM pd_persons ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id, lid int
				var label string
				rows.Scan(&id, &lid, &label)
				got = append(got, fmt.Sprintf("%d:%d:%s", id, lid, label))
			}
			rows.Close()
			if want := "1:9:Referral 2:7:Web 3:0:∅"; strings.Join(got, " ") != want {
				t.Fatalf("rows %v, want %s", got, want)
			}
			if n := fieldCalls.Load(); n != tc.wantCalls { // one request per lookup and sync (or cache), never per record
				t.Fatalf("%d requests to /v1/personFields, want %d", n, tc.wantCalls)
			}
			if tc.cache == "" && r.APICalls != 3 {
				t.Fatalf("api calls %d, want 3 (two lookups and one page)", r.APICalls)
			}
		})
	}
}
