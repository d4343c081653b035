package sqlite

import (
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestHistoryGainsDuplicates: a file whose history table predates the
// duplicates column gets it on open, and keeps working.
func TestHistoryGainsDuplicates(t *testing.T) {
	d, path := openTemp(t)
	if _, err := d.w.ExecContext(ctx, "ALTER TABLE crmsync_sync_history DROP COLUMN duplicates"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := &sink.Sync{Pipeline: "p", Entity: "e"}
	if _, err := d.StartSync(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.Status, s.Processed, s.Duplicates = sink.StatusSuccess, 3, 2
	if err := d.FinishSync(ctx, s); err != nil {
		t.Fatal(err)
	}
	h, err := d.History(ctx, sink.Filter{})
	if err != nil || len(h) != 1 || h[0].Duplicates != 2 {
		t.Fatalf("%+v %v", h, err)
	}
}
