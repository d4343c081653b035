package sqlite

import (
	"reflect"
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

// TestStateGainsVersion: a file whose state table predates the version
// column (changed_when's stored value) gets it on open; a batch stores it.
func TestStateGainsVersion(t *testing.T) {
	d, path := openTemp(t)
	if _, err := d.w.ExecContext(ctx, "ALTER TABLE crmsync_state DROP COLUMN version"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tb := contacts()
	mustPrepare(t, d, tb)
	mustWrite(t, d, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tb, Rows: []sink.Row{row("1", "Ann", nil)},
		Checkpoint: &sink.Checkpoint{Watermark: "w1", Version: "2024-06-01T15:04:05.123Z"}})
	if cp, err := d.Checkpoint(ctx, "crm", "contacts"); err != nil || cp.Watermark != "w1" || cp.Version != "2024-06-01T15:04:05.123Z" {
		t.Fatalf("checkpoint %+v %v", cp, err)
	}
}

// TestHistoryKeepsFieldWarnings: a file whose history table predates the
// field_warnings column gets it on open; a sync's per-field warning
// counts are stored and read back, and a sync without warnings reads none.
func TestHistoryKeepsFieldWarnings(t *testing.T) {
	d, path := openTemp(t)
	if _, err := d.w.ExecContext(ctx, "ALTER TABLE crmsync_sync_history DROP COLUMN field_warnings"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := map[string]sink.FieldWarning{"email": {Lines: 120, NotPrinted: 20}, "lines.sku": {Lines: 3}}
	for _, fw := range []map[string]sink.FieldWarning{want, nil} {
		s := &sink.Sync{Pipeline: "p", Entity: "e"}
		if _, err := d.StartSync(ctx, s); err != nil {
			t.Fatal(err)
		}
		s.Status, s.Processed, s.FieldWarnings = sink.StatusSuccess, 130, fw
		if err := d.FinishSync(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	h, err := d.History(ctx, sink.Filter{})
	if err != nil || len(h) != 2 {
		t.Fatalf("%+v %v", h, err)
	}
	if h[0].FieldWarnings != nil {
		t.Errorf("sync without warnings reads %v", h[0].FieldWarnings)
	}
	if !reflect.DeepEqual(h[1].FieldWarnings, want) {
		t.Errorf("field warnings %v, want %v", h[1].FieldWarnings, want)
	}
}
