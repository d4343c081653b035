package runner_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/sink/memory"
)

// countingDest counts batch writes and the rows of the largest one.
type countingDest struct {
	*memory.DB
	writes, most atomic.Int64
}

func (c *countingDest) Write(ctx context.Context, b *sink.Batch) (sink.Result, error) {
	c.writes.Add(1)
	if n := int64(len(b.Rows)); n > c.most.Load() {
		c.most.Store(n)
	}
	return c.DB.Write(ctx, b)
}

// TestWideRecordsBoundTheBatch: with batch_size far above what memory
// allows for wide records (64 KB of notes each), batches are committed
// at a byte budget: 600 records, 39 MB, are not held as one batch.
func TestWideRecordsBoundTheBatch(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	note := strings.Repeat("x", 64<<10)
	for i := 1; i <= 600; i++ {
		fmt.Fprintf(&b, "{\"id\":%d,\"note\":%q}\n", i, note)
	}
	os.WriteFile(filepath.Join(dir, "wide.jsonl"), []byte(b.String()), 0o644)
	path := filepath.Join(dir, "wide.yaml")
	os.WriteFile(path, []byte(`version: 1
name: wide
source: {type: file, path: wide.jsonl}
entities:
  notes:
    primary_key: id
    batch_size: 100000
    fields: {id: {path: id, type: integer, required: true}, note: note}
`), 0o644)
	plan, f := pipeline.LoadFile(path, pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	dest := &countingDest{DB: memory.New()}
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil || r.Created != 600 {
		t.Fatalf("sync: created %d, err %v", r.Created, r.Err)
	}
	// 2 MiB of records is 32 of these; a batch never holds all 600.
	if dest.writes.Load() < 18 || dest.most.Load() > 33 {
		t.Errorf("%d writes, the largest of %d rows: want batches bounded by bytes (≤ 33 rows of 64 KB)", dest.writes.Load(), dest.most.Load())
	}
}

// TestFailedSyncLogsOnceAtError: a sync that fails says so in one ERROR
// line with its counts, not an INFO "Completed" line before it.
func TestFailedSyncLogsOnceAtError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`[{"id":1},{"id":2},{"id"`), 0o644)
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte(`version: 1
name: bad
source: {type: file, path: bad.json}
entities:
  rows:
    primary_key: id
    fields: {id: {path: id, type: integer, required: true}}
`), 0o644)
	plan, f := pipeline.LoadFile(path, pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: memory.New(), Logger: log})
	if r.Err == nil {
		t.Fatal("a truncated file synced without an error")
	}
	out := logs.String()
	if strings.Contains(out, "Completed bad rows") || strings.Count(out, `"level":"ERROR"`) != 1 || !strings.Contains(out, `"msg":"Sync of bad rows failed`) {
		t.Errorf("want one ERROR line and no Completed line:\n%s", out)
	}
}
