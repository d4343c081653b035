package runner_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/sqlite"
	_ "github.com/crmsync/crmsync/engine/source/httpsrc"
	_ "modernc.org/sqlite"
)

// crm is a HubSpot-shaped server: contacts with cursor paging on
// paging.next.after, sorted by updatedAt, filterable with ?since=.
type crm struct {
	mu       sync.Mutex
	contacts []contact
	requests []string
}

type contact struct {
	ID        int
	Email     string
	UpdatedAt time.Time
}

func newCRM(n int) *crm {
	c := &crm{}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("user%d@example.com", i)
		if i%50 == 0 {
			email = "broken-at-example.com"
		}
		c.contacts = append(c.contacts, contact{ID: i, Email: email, UpdatedAt: base.Add(time.Duration(i) * time.Minute)})
	}
	return c
}

func (c *crm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, r.URL.RequestURI())
	if r.Header.Get("Authorization") != "Bearer t0ken" {
		http.Error(w, `{"message":"auth"}`, http.StatusUnauthorized)
		return
	}
	var since time.Time
	if s := r.URL.Query().Get("since"); s != "" {
		since, _ = time.Parse(time.RFC3339Nano, s)
	}
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	limit := 100
	var page []map[string]any
	next := 0
	for i, ct := range c.contacts {
		if i < after || ct.UpdatedAt.Before(since) {
			continue
		}
		if len(page) == limit {
			next = i
			break
		}
		page = append(page, map[string]any{"id": strconv.Itoa(ct.ID), "properties": map[string]any{"email": ct.Email},
			"updatedAt": ct.UpdatedAt.Format(time.RFC3339Nano)})
	}
	body := map[string]any{"results": page}
	if next > 0 {
		body["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(next)}}
	}
	json.NewEncoder(w).Encode(body)
}

const pipelineYAML = `version: 1
name: hub
source:
  type: http
  base_url: %s
  auth: {type: bearer, token: "${env:HUB_TOKEN}"}
  retry: {attempts: 2, initial: 10ms, max: 20ms}
entities:
  contacts:
    request: {path: /crm/v3/objects/contacts, params: {limit: "100"}}
    records: results
    paginate: {style: cursor, cursor: paging.next.after, param: after}
    primary_key: id
    incremental: {field: updated_at, param: since, sorted: true}
    batch_size: 120
    fields:
      id: {path: id, type: integer}
      email: {path: properties.email, type: email, validate: [email], on_invalid: reject}
      updated_at: {path: updatedAt, type: datetime}
`

func load(t *testing.T, url string) *pipeline.Plan {
	t.Helper()
	env := func(k string) (string, bool) { return "t0ken", k == "HUB_TOKEN" }
	plan, f := pipeline.Load("hub.yaml", []byte(fmt.Sprintf(pipelineYAML, url)), pipeline.Options{LookupEnv: env, StrictEnv: true})
	if plan == nil {
		t.Fatal(f)
	}
	return plan
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openSQLite(t *testing.T) (sink.Destination, *sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crmsync.db")
	d, err := sink.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return d, db, path
}

// TestSyncHTTPToSQLite: a first full sync, a second incremental one, and
// updates in between — exact counts, rejects, checkpoint and history.
func TestSyncHTTPToSQLite(t *testing.T) {
	c := newCRM(1000)
	srv := httptest.NewServer(c)
	defer srv.Close()
	plan := load(t, srv.URL)
	dest, db, _ := openSQLite(t)
	ctx := context.Background()

	r := runner.Sync(ctx, plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Status != sink.StatusPartial || r.Processed != 1000 || r.Created != 980 || r.Rejected != 20 {
		t.Fatalf("first sync: %+v", r.Sync)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM hub_contacts`).Scan(&n)
	if n != 980 {
		t.Fatalf("table has %d rows, want 980", n)
	}
	db.QueryRow(`SELECT count(*) FROM crmsync_rejects WHERE pipeline='hub' AND entity='contacts'`).Scan(&n)
	if n != 20 {
		t.Fatalf("%d rejects stored, want 20", n)
	}
	cp, _ := dest.Checkpoint(ctx, "hub", "contacts")
	// Contact 1000 (16:40) was rejected: the watermark is the newest
	// committed row's, so the rejected one is read again next time.
	if cp.Watermark != "2024-01-01T16:39:00Z" {
		t.Fatalf("watermark %q, want the newest updatedAt of a committed row", cp.Watermark)
	}

	// Change two contacts and add one; the incremental run reads from the watermark.
	c.mu.Lock()
	late := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	c.contacts[10].Email, c.contacts[10].UpdatedAt = "changed@example.com", late
	c.contacts[20].UpdatedAt = late
	c.contacts = append(c.contacts, contact{ID: 1001, Email: "new@example.com", UpdatedAt: late})
	sort.SliceStable(c.contacts, func(i, j int) bool { return c.contacts[i].UpdatedAt.Before(c.contacts[j].UpdatedAt) })
	c.requests = nil
	c.mu.Unlock()
	r = runner.Sync(ctx, plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	// since= the old watermark re-reads the row at it (999, unchanged) and
	// the rejected 1000 (rejected again); 11 and 21 changed; 1001 is new.
	if r.Created != 1 || r.Updated != 2 || r.Unchanged != 1 || r.Rejected != 1 {
		t.Fatalf("second sync: created %d updated %d unchanged %d (processed %d)", r.Created, r.Updated, r.Unchanged, r.Processed)
	}
	if !strings.Contains(c.requests[0], "since=2024-01-01T16%3A39%3A00Z") {
		t.Fatalf("incremental request %q does not carry the watermark", c.requests[0])
	}
	var email string
	db.QueryRow(`SELECT email FROM hub_contacts WHERE id = 11`).Scan(&email)
	if email != "changed@example.com" {
		t.Fatalf("update not applied: %q", email)
	}
	hist, _ := dest.History(ctx, sink.Filter{Pipeline: "hub"})
	if len(hist) != 2 || hist[0].Status != sink.StatusPartial || hist[0].Created != 1 || hist[1].Created != 980 {
		t.Fatalf("history: %+v", hist)
	}
}

// TestDryRunWritesNothing: --dry-run reads and validates, writes nothing.
func TestDryRunWritesNothing(t *testing.T) {
	srv := httptest.NewServer(newCRM(250))
	defer srv.Close()
	plan := load(t, srv.URL)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{DryRun: true, Logger: quiet()})
	if r.Err != nil || r.Processed != 250 || r.Rejected != 5 || r.Created != 0 {
		t.Fatalf("dry run: %+v %v", r.Sync, r.Err)
	}
}

// TestSecondRunIsLockedOut: two runs of one entity never overlap.
func TestSecondRunIsLockedOut(t *testing.T) {
	srv := httptest.NewServer(newCRM(10))
	defer srv.Close()
	plan := load(t, srv.URL)
	dest, _, path := openSQLite(t)
	unlock, err := dest.Lock(context.Background(), "hub", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	other, err := sink.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: other, Logger: quiet()})
	if r.Status != sink.StatusFailed || !strings.Contains(r.Err.Error(), "another crmsync run is syncing hub contacts") {
		t.Fatalf("second run: %s %v", r.Status, r.Err)
	}
}

// TestMaxRecordsCommitsWhatWasRead: max_records stops the read and
// commits what was read; a sorted watermark follows the committed rows.
func TestMaxRecordsCommitsWhatWasRead(t *testing.T) {
	srv := httptest.NewServer(newCRM(1000))
	defer srv.Close()
	env := func(k string) (string, bool) { return "t0ken", k == "HUB_TOKEN" }
	limit := 250
	plan, f := pipeline.Load("hub.yaml", []byte(fmt.Sprintf(pipelineYAML, srv.URL)), pipeline.Options{LookupEnv: env, MaxRecords: &limit})
	if plan == nil {
		t.Fatal(f)
	}
	dest, db, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil || r.Processed != 250 || r.Created+r.Rejected != 250 {
		t.Fatalf("%+v %v", r.Sync, r.Err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM hub_contacts`).Scan(&n)
	cp, _ := dest.Checkpoint(context.Background(), "hub", "contacts")
	// Record 250 is rejected (a broken email): 249 is the newest committed.
	if n != int(r.Created) || cp.Watermark != "2024-01-01T04:09:00Z" {
		t.Fatalf("%d rows, watermark %q: want the 249th record's time", n, cp.Watermark)
	}
}

// TestMaxRejectRateStopsTheSync: a source gone bad stops the sync rather
// than quietly loading garbage; what was committed before stays.
func TestMaxRejectRateStopsTheSync(t *testing.T) {
	c := newCRM(1000)
	for i := 300; i < 1000; i += 2 {
		c.contacts[i].Email = "garbage"
	}
	srv := httptest.NewServer(c)
	defer srv.Close()
	env := func(k string) (string, bool) { return "t0ken", k == "HUB_TOKEN" }
	src := strings.Replace(fmt.Sprintf(pipelineYAML, srv.URL), "    batch_size: 120\n", "    batch_size: 120\n    max_reject_rate: 0.2\n", 1)
	plan, f := pipeline.Load("hub.yaml", []byte(src), pipeline.Options{LookupEnv: env})
	if plan == nil {
		t.Fatal(f)
	}
	dest, db, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Status != sink.StatusFailed || r.Err == nil || !strings.Contains(r.Err.Error(), "max_reject_rate 20%") {
		t.Fatalf("status %s err %v", r.Status, r.Err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM hub_contacts`).Scan(&n)
	if n < 240 || r.Processed >= 1000 {
		t.Fatalf("%d rows kept, %d processed: the sync should stop early and keep its committed batches", n, r.Processed)
	}
}

// TestGoodPagesBeforeABadOneAreKept: a malformed page fails the sync, but
// the rows of the pages read before it are committed.
func TestGoodPagesBeforeABadOneAreKept(t *testing.T) {
	c := newCRM(450)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") == "300" {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
			return
		}
		c.ServeHTTP(w, r)
	}))
	defer srv.Close()
	plan := load(t, srv.URL)
	dest, db, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Status != sink.StatusFailed || r.Err == nil || !strings.Contains(r.Err.Error(), "page 4") {
		t.Fatalf("status %s, err %v", r.Status, r.Err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM hub_contacts`).Scan(&n)
	if n != 294 { // 300 records read whole, 6 rejected
		t.Fatalf("%d rows kept, want the 294 valid rows of the first three pages", n)
	}
}

// TestEchoedCredentialsAreRedacted: an API that echoes the Authorization
// header (Basic's base64 of user:password) or the api key (URL-escaped)
// in an error body never gets them into the error or the history.
func TestEchoedCredentialsAreRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error":"denied","auth":%q,"url":%q}`, r.Header.Get("Authorization"), r.URL.RawQuery)
	}))
	defer srv.Close()
	env := map[string]string{"PW": "BasicPw_s3cret!", "KEY": "Qk+y/Val=9z&x"}
	for _, auth := range []string{
		`{type: basic, username: alice, password: "${env:PW}"}`,
		`{type: api_key, query: {apikey: "${env:KEY}"}}`,
	} {
		src := fmt.Sprintf(`version: 1
name: echo
source:
  type: http
  base_url: %q
  auth: %s
  retry: {attempts: 1}
entities:
  things:
    request: {path: /things}
    primary_key: id
    fields: {id: id}
`, srv.URL, auth)
		plan, f := pipeline.Load("echo.yaml", []byte(src), pipeline.Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		if plan == nil {
			t.Fatal(f)
		}
		dest, _, _ := openSQLite(t)
		r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
		if r.Err == nil {
			t.Fatal("want the 403 to fail the sync")
		}
		hist, _ := dest.History(context.Background(), sink.Filter{Pipeline: "echo"})
		text := r.Err.Error() + strings.Join(hist[0].Errors, " ")
		for _, leak := range []string{"BasicPw_s3cret", "YWxpY2U6QmFzaWNQd19zM2NyZXQh", "Qk%2By%2FVal%3D9z%26x", "Qk+y/Val"} {
			if strings.Contains(text, leak) {
				t.Errorf("%s: %q leaked: %s", auth, leak, text)
			}
		}
		if !strings.Contains(text, "denied") {
			t.Errorf("the error should still show the body: %s", text)
		}
	}
}

// TestWindowMovesNoCheckpoint: --start-date/--end-date read only their
// window (from its start, rows outside it filtered) and leave the
// checkpoint alone, so the next normal run still reads everything after
// the old watermark.
func TestWindowMovesNoCheckpoint(t *testing.T) {
	c := newCRM(200)
	srv := httptest.NewServer(c)
	defer srv.Close()
	plan := load(t, srv.URL)
	dest, db, _ := openSQLite(t)
	ctx := context.Background()
	if r := runner.Sync(ctx, plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()}); r.Err != nil {
		t.Fatal(r.Err)
	}
	before, _ := dest.Checkpoint(ctx, "hub", "contacts")
	// The CRM grows: contacts 201..2000, one a minute after the first 200.
	c.mu.Lock()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 201; i <= 2000; i++ {
		c.contacts = append(c.contacts, contact{ID: i, Email: fmt.Sprintf("u%d@example.com", i), UpdatedAt: base.Add(time.Duration(i) * time.Minute)})
	}
	c.mu.Unlock()
	start, end := base.Add(1000*time.Minute), base.Add(1100*time.Minute)
	r := runner.Sync(ctx, plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Start: start, End: end})
	if r.Err != nil || r.Created != 100 || r.Filtered == 0 { // 1000..1099; the rest of the read is filtered
		t.Fatalf("window run: %+v %v", r.Sync, r.Err)
	}
	if after, _ := dest.Checkpoint(ctx, "hub", "contacts"); after.Watermark != before.Watermark {
		t.Fatalf("the window moved the watermark from %q to %q", before.Watermark, after.Watermark)
	}
	r = runner.Sync(ctx, plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM hub_contacts`).Scan(&n)
	if n != 1996 { // 2000 less the first 200's 4 broken emails
		t.Fatalf("%d rows after the normal run, want 1996: the window must not hide the rows before it", n)
	}
}

// TestSecretInARecordStaysOutOfRejects: a record that carries the token
// (an API echoing it into a field) is rejected without the token reaching
// the rejects store.
func TestSecretInARecordStaysOutOfRejects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"results":[{"id":"1","properties":{"email":"not-an-email %s"}}]}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer srv.Close()
	plan := load(t, srv.URL)
	dest, _, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Rejected != 1 {
		t.Fatalf("%+v %v", r.Sync, r.Err)
	}
	rj, _ := dest.Rejects(context.Background(), sink.Filter{Pipeline: "hub"})
	if len(rj) != 1 || strings.Contains(rj[0].Raw+strings.Join(rj[0].Reasons, ""), "t0ken") {
		t.Fatalf("rejects: %+v", rj)
	}
}

// TestFaultsReachTheTableExactlyOnce: a 429, a 503 and a body cut off
// mid-stream are retried, and every record lands in the table once.
func TestFaultsReachTheTableExactlyOnce(t *testing.T) {
	c := newCRM(500)
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after := r.URL.Query().Get("after")
		mu.Lock()
		seen[after]++
		n := seen[after]
		mu.Unlock()
		switch {
		case after == "100" && n == 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case after == "200" && n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case after == "300" && n == 1:
			w.Header().Set("Content-Length", "5000")
			w.Write([]byte(`{"results":[{"id":"301","prop`)) // the connection ends here
			return
		}
		c.ServeHTTP(w, r)
	}))
	defer srv.Close()
	plan := load(t, srv.URL)
	dest, db, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil || r.Retries < 3 {
		t.Fatalf("%+v %v", r.Sync, r.Err)
	}
	var n, distinct int
	db.QueryRow(`SELECT count(*), count(DISTINCT id) FROM hub_contacts`).Scan(&n, &distinct)
	if n != 490 || distinct != 490 || r.Created != 490 { // 500 less 10 broken emails
		t.Fatalf("%d rows (%d distinct), created %d: want each of the 490 valid records once", n, distinct, r.Created)
	}
}
