package postgres

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestHistoryGainsDuplicates: a history table made before the duplicates
// column gets it when the destination opens, and keeps working.
func TestHistoryGainsDuplicates(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "ALTER TABLE crmsync_sync_history DROP COLUMN duplicates"); err != nil {
		t.Fatal(err)
	}
	if err := d.createState(ctx); err != nil {
		t.Fatal(err)
	}
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
