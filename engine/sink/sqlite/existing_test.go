package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// TestOpenExisting: opened for reading, a missing file is fs.ErrNotExist
// and is not created; an existing one opens; Open still creates.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	if _, err := sink.OpenExisting(ctx, "sqlite:"+path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("OpenExisting created the file")
	}
	d, err := sink.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = sink.OpenExisting(ctx, "sqlite:"+path+"?_pragma=cache_size(-2000)")
	if err != nil {
		t.Fatalf("existing file: %v", err)
	}
	d.Close()
}

// TestSyncedAtIndex: every table gets an index on _synced_at (what
// downstream incremental models filter on), and a table made by an older
// version gets it at its next Prepare.
func TestSyncedAtIndex(t *testing.T) {
	d, _ := openTemp(t)
	tb := &sink.Table{Name: "contacts", PrimaryKey: []string{"id"},
		Columns: []sink.Column{{Name: "id", Type: value.Integer}, {Name: "email", Type: value.String}}}
	mustPrepare(t, d, tb)
	plan := func() string {
		return strings.Join(dump(t, d, "EXPLAIN QUERY PLAN SELECT id FROM contacts WHERE _synced_at > '2026-01-01'"), " ")
	}
	if p := plan(); !strings.Contains(p, "contacts_crmsync_synced_at") {
		t.Fatalf("query plan does not use the index: %s", p)
	}
	if _, err := d.w.ExecContext(ctx, `DROP INDEX contacts_crmsync_synced_at`); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d2, err := Open(ctx, "sqlite:"+d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	d = d2
	mustPrepare(t, d, tb)
	if p := plan(); !strings.Contains(p, "contacts_crmsync_synced_at") {
		t.Fatalf("after Prepare on an older table, the plan does not use the index: %s", p)
	}
}
