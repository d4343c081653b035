package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
)

// TestBatchedParents: HubSpot's v4 associations batch read takes up to
// 100 ids per request; parent: {batch: N} reads the child entity once per
// N parent records, with the ids as a JSON array in the body.
func TestBatchedParents(t *testing.T) {
	var mu sync.Mutex
	var batches [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/crm/v3/objects/contacts":
			var res []map[string]any
			for i := 1; i <= 25; i++ {
				res = append(res, map[string]any{"id": fmt.Sprint(i)})
			}
			json.NewEncoder(w).Encode(map[string]any{"results": res})
		case "/crm/v4/associations/contacts/deals/batch/read":
			var body struct {
				Inputs []struct{ ID string } `json:"inputs"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			var ids []string
			var res []map[string]any
			for _, in := range body.Inputs {
				ids = append(ids, in.ID)
				res = append(res, map[string]any{"from": map[string]any{"id": in.ID},
					"to": []map[string]any{{"toObjectId": 1000 + len(ids), "associationTypes": []map[string]any{{"category": "HUBSPOT_DEFINED", "typeId": 4}}}}})
			}
			mu.Lock()
			batches = append(batches, ids)
			mu.Unlock()
			json.NewEncoder(w).Encode(map[string]any{"status": "COMPLETE", "results": res})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	src := fmt.Sprintf(`version: 1
name: hubspot
source: {type: http, base_url: %q, records: results}
entities:
  contacts:
    request: {path: /crm/v3/objects/contacts}
    primary_key: id
    fields: {id: id}
  contact_deals:
    parent: {entity: contacts, batch: 10}
    request:
      method: POST
      path: /crm/v4/associations/contacts/deals/batch/read
      body: {inputs: "{{ parent.#.{id} }}"}
    primary_key: contact_id
    fields:
      contact_id: {path: from.id, type: integer}
    children:
      deals:
        from: to
        primary_key: deal_id
        fields:
          deal_id: {path: toObjectId, type: integer}
          type_id: {path: associationTypes.0.typeId, type: integer}
`, srv.URL)
	plan, f := pipeline.Load("hubspot.yaml", []byte(src), pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	dest, db, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entity("contact_deals"), runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil || r.Created != 25 {
		t.Fatalf("%+v %v", r.Sync, r.Err)
	}
	if len(batches) != 3 || len(batches[0]) != 10 || len(batches[2]) != 5 || batches[2][4] != "25" {
		t.Fatalf("batched reads: %v", batches)
	}
	var n, typ int
	db.QueryRow(`SELECT count(*), min(type_id) FROM hubspot_contact_deals_deals`).Scan(&n, &typ)
	if n != 25 || typ != 4 {
		t.Fatalf("%d association rows (type %d), want 25", n, typ)
	}
}
