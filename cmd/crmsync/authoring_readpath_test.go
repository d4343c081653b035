package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// rpServer is a small CRM that keeps every request it is sent: method,
// path, query and body. /contacts lists three contacts with line items;
// /assoc answers a batch read of associations for the ids in its body.
type rpServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
}

func newRPServer(t *testing.T) *rpServer {
	t.Helper()
	s := &rpServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, strings.TrimSpace(fmt.Sprintf("%s %s?%s %s", r.Method, r.URL.Path, r.URL.RawQuery, body)))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/contacts":
			io.WriteString(w, `{"results":[
				{"id":1,"updated":"2024-03-02T10:00:00Z","lines":[{"sku":"A","qty":2},{"sku":"B","qty":1}]},
				{"id":2,"updated":"2024-03-03T10:00:00Z","lines":[]},
				{"id":3,"updated":"2024-03-04T10:00:00Z","lines":[{"sku":"C","qty":7}]}]}`)
		case "/assoc":
			var in struct {
				Inputs []struct {
					ID json.Number `json:"id"`
				} `json:"inputs"`
			}
			if err := json.Unmarshal(body, &in); err != nil {
				http.Error(w, `{"message":"inputs must be a list"}`, http.StatusBadRequest)
				return
			}
			var res []string
			for _, x := range in.Inputs {
				res = append(res, fmt.Sprintf(`{"from":{"id":%s},"to":[{"toObjectId":%s0}]}`, x.ID, x.ID))
			}
			io.WriteString(w, `{"results":[`+strings.Join(res, ",")+`]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// take returns the requests kept so far and forgets them.
func (s *rpServer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.reqs
	s.reqs = nil
	return out
}

// rpPipeline: contacts read incrementally (a first run sends
// incremental.start: lookback applies to a stored watermark only), with
// child rows; contact_deals reads the associations of two contacts per
// request (parent: {batch: 2}).
func rpPipeline(t *testing.T, dir, baseURL string) string {
	t.Helper()
	return auWriteFile(t, dir, "crm.yaml", fmt.Sprintf(`version: 1
name: crm
source: {type: http, base_url: %q, records: results}
entities:
  contacts:
    request: {path: /contacts, params: {since: "{{ watermark }}"}}
    primary_key: id
    incremental: {field: updated, start: "2024-03-01T00:00:00Z", lookback: 1h}
    fields:
      id: {path: id, type: integer}
      updated: {path: updated, type: datetime}
    children:
      lines:
        from: lines
        primary_key: sku
        fields:
          sku: sku
          qty: {path: qty, type: integer}
  contact_deals:
    parent: {entity: contacts, batch: 2}
    request:
      method: POST
      path: /assoc
      body: {inputs: "{{ parent.#.{id} }}"}
    primary_key: contact_id
    fields:
      contact_id: {path: from.id, type: integer}
      deal_id: {path: to.0.toObjectId, type: integer}
`, baseURL))
}

// TestPreviewSendsWhatRunSends: preview reads through the runner, so it
// sends exactly the requests of run --dry-run: the same since value on a
// first run with lookback (bug: preview moved incremental.start back by
// the lookback), and parent keys batched two per request (bug: preview
// sent {"inputs":{}} once per parent).
func TestPreviewSendsWhatRunSends(t *testing.T) {
	srv := newRPServer(t)
	dir := t.TempDir()
	t.Chdir(dir)
	file := rpPipeline(t, dir, srv.URL)
	t.Setenv("CRMSYNC_DEST", "")
	for _, entity := range []string{"contacts", "contact_deals"} {
		t.Run(entity, func(t *testing.T) {
			srv.take()
			if code, out, errOut := auRun("run", "--dry-run", "--quiet", "--entity", entity, file); code != exitOK {
				t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
			}
			ran := srv.take()
			code, out, errOut := auRun("preview", "--limit", "100", file, entity)
			if code != exitOK {
				t.Fatalf("preview: exit %d\n%s%s", code, out, errOut)
			}
			previewed := srv.take()
			if !reflect.DeepEqual(ran, previewed) {
				t.Errorf("run --dry-run sent\n  %s\npreview sent\n  %s", strings.Join(ran, "\n  "), strings.Join(previewed, "\n  "))
			}
			var want []string
			switch entity {
			case "contacts":
				want = []string{"GET /contacts?since=2024-03-01T00%3A00%3A00Z"}
			case "contact_deals":
				want = []string{"GET /contacts?since=2024-03-01T00%3A00%3A00Z",
					`POST /assoc? {"inputs":[{"id":1},{"id":2}]}`, `POST /assoc? {"inputs":[{"id":3}]}`}
			}
			if !reflect.DeepEqual(previewed, want) {
				t.Errorf("preview sent\n  %s\nwant\n  %s", strings.Join(previewed, "\n  "), strings.Join(want, "\n  "))
			}
			if entity == "contact_deals" && !strings.Contains(out, "3 records from 2 pages: 3 ok") {
				t.Errorf("preview output:\n%s", out)
			}
		})
	}
}

// TestPreviewShowsChildRows: the child rows (children:) of each record
// are shown, in the table and in --json.
func TestPreviewShowsChildRows(t *testing.T) {
	srv := newRPServer(t)
	dir := t.TempDir()
	t.Chdir(dir)
	file := rpPipeline(t, dir, srv.URL)
	code, out, errOut := auRun("preview", file, "contacts")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := "child rows lines: 3 rows\nRECORD  SKU  QTY\n1       A    2\n1       B    1\n3       C    7\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks\n%s\n--- got:\n%s", want, out)
	}
	code, out, errOut = auRun("preview", "--json", file, "contacts")
	if code != exitOK {
		t.Fatalf("--json: exit %d\n%s%s", code, out, errOut)
	}
	var docs []struct {
		Records []struct {
			ID       string
			Children map[string][]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &docs); err != nil || len(docs) != 1 || len(docs[0].Records) != 3 {
		t.Fatalf("%v\n%s", err, out)
	}
	got := docs[0].Records
	if len(got[0].Children["lines"]) != 2 || got[0].Children["lines"][1]["sku"] != "B" || len(got[1].Children["lines"]) != 0 ||
		got[2].Children["lines"][0]["qty"] != 7.0 {
		t.Errorf("child rows in --json: %+v", got)
	}
}

// TestTestChecksChildRows: preview --record writes the child rows into
// expected.jsonl, crmsync test replays them, and a changed child row
// fails the test with the difference.
func TestTestChecksChildRows(t *testing.T) {
	srv := newRPServer(t)
	dir := t.TempDir()
	t.Chdir(dir)
	file := rpPipeline(t, dir, srv.URL)
	fx := filepath.Join(dir, "crm.fixtures")
	if code, out, errOut := auRun("preview", "--record", fx, file); code != exitOK {
		t.Fatalf("record: exit %d\n%s%s", code, out, errOut)
	}
	expected := filepath.Join(fx, "contacts", "expected.jsonl")
	b, err := os.ReadFile(expected)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"children":{"lines":[{"sku":"A","qty":2},{"sku":"B","qty":1}]}`) {
		t.Fatalf("expected.jsonl lacks the child rows:\n%s", b)
	}
	if !strings.Contains(string(b), `"children":{"lines":[]}`) {
		t.Errorf("a record without child rows should say so:\n%s", b)
	}
	srv.Close() // the replay needs no server
	code, out, errOut := auRun("test", file)
	if code != exitOK || !strings.Contains(out, "ok    crm contacts: 3 records as expected") || !strings.Contains(out, "ok    crm contact_deals: 3 records") {
		t.Fatalf("test: exit %d\n%s%s", code, out, errOut)
	}
	changed := strings.Replace(string(b), `{"sku":"C","qty":7}`, `{"sku":"C","qty":8}`, 1)
	if err := os.WriteFile(expected, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = auRun("test", file)
	if code != exitFailed || !strings.Contains(out, `record 3 (id 3): child rows lines: expected [{"qty":8,"sku":"C"}], got [{"qty":7,"sku":"C"}]`) {
		t.Errorf("a changed child row: exit %d\n%s", code, out)
	}
}

// TestPreviewStopsAtFailedRecord: on_invalid: fail stops run at the
// record; preview, reading as run does, shows that record and the error.
func TestPreviewStopsAtFailedRecord(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"results":[{"id":1,"email":"a@example.com"},{"id":2,"email":"nope"},{"id":3,"email":"c@example.com"}]}`)
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("CRMSYNC_DEST", "")
	file := auWriteFile(t, dir, "crm.yaml", fmt.Sprintf(`version: 1
name: crm
source: {type: http, base_url: %q, records: results}
entities:
  people:
    request: {path: /people}
    primary_key: id
    fields:
      id: {path: id, type: integer}
      email: {path: email, validate: [email], on_invalid: fail}
`, srv.URL))
	if code, out, errOut := auRun("run", "--dry-run", "--quiet", file); code != exitFailed {
		t.Fatalf("run: exit %d, want 1\n%s%s", code, out, errOut)
	}
	code, out, errOut := auRun("preview", file)
	if code != exitFailed || !strings.Contains(out, "2 records from 1 page: 1 ok, 1 failed") || !strings.Contains(out, "error: ") {
		t.Errorf("preview: exit %d, want 1\n%s%s", code, out, errOut)
	}
}
