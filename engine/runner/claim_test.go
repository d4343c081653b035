package runner_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
)

// TestLostClaimStopsTheSync: the database session holding a sync's claim
// is terminated in the middle of a full sync with delete_missing: hard
// (as idle_session_timeout, a pooler or a NAT would end it). The sync
// stops with an error naming the lost claim and does not delete the rows
// it had not seen.
func TestLostClaimStopsTheSync(t *testing.T) {
	dest, db := openPostgres(t)
	var served atomic.Int64 // records the source has at the moment
	served.Store(100)
	var firstPages atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		if after == 0 {
			firstPages.Add(1)
		}
		time.Sleep(150 * time.Millisecond)
		n := int(served.Load())
		var items []map[string]any
		i := after + 1
		for ; i <= n && len(items) < 10; i++ {
			items = append(items, map[string]any{"id": i})
		}
		body := map[string]any{"items": items}
		if i <= n {
			body["next"] = strconv.Itoa(i - 1)
		}
		json.NewEncoder(w).Encode(body)
	}))
	defer srv.Close()
	name := fmt.Sprintf("claim%d", rand.Uint32())
	path := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`version: 1
name: %s
source:
  type: http
  base_url: %s
  retry: {attempts: 1}
entities:
  contacts:
    request: {path: /contacts}
    records: items
    paginate: {style: cursor, cursor: next, param: after}
    primary_key: id
    batch_size: 10
    delete_missing: hard
    fields: {id: {path: id, type: integer}}
`, name, srv.URL)), 0o644)
	plan, f := pipeline.LoadFile(path, pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	count := func() int {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM ` + name + `_contacts`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if n := count(); n != 100 {
		t.Fatalf("first sync: %d rows, want 100", n)
	}

	// The second sync sees 50 records: a completed delete_missing would
	// delete the other 50. Its claim's session ends after a few pages.
	served.Store(50)
	go func() {
		time.Sleep(400 * time.Millisecond)
		db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, "crmsync lock "+name+"/contacts")
	}()
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "claim on "+name+" contacts was lost") || !errors.Is(r.Err, sink.ErrClaimLost) {
		t.Fatalf("sync after its claim was lost: status %s, err %v", r.Status, r.Err)
	}
	if r.Status != "failed" {
		t.Errorf("status %s, want failed", r.Status)
	}
	if n := count(); n != 100 {
		t.Errorf("%d rows after the lost claim, want 100: rows were deleted without a claim", n)
	}
	// The claim is free again, and a sync under a live claim finishes the
	// job: the 50 records gone from the source are deleted.
	if r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if n := count(); n != 50 {
		t.Errorf("%d rows after a complete sync, want 50", n)
	}
}
