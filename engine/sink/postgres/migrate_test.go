package postgres

import (
	"context"
	"reflect"
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

// TestStateGainsVersion: a state table made before the version column
// (changed_when's stored value) gets it when the destination opens; the
// checkpoints already there read with an empty version, and a batch
// stores and replaces it.
func TestStateGainsVersion(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "ALTER TABLE crmsync_state DROP COLUMN version"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "INSERT INTO crmsync_state (pipeline, entity, watermark) VALUES ('crm', 'contacts', 'w0')"); err != nil {
		t.Fatal(err)
	}
	if err := d.createState(ctx); err != nil {
		t.Fatal(err)
	}
	if cp, err := d.Checkpoint(ctx, "crm", "contacts"); err != nil || cp.Watermark != "w0" || cp.Version != "" {
		t.Fatalf("old checkpoint %+v %v", cp, err)
	}
	tbl := contactsTable()
	mustPrepare(t, d, tbl)
	for _, v := range []string{"2024-06-01T15:04:05.123Z", "2024-06-03T09:30:00Z"} {
		if _, err := d.Write(ctx, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tbl,
			Rows: []sink.Row{contact(1, "a@x.io")}, Checkpoint: &sink.Checkpoint{Watermark: "w1", Version: v}}); err != nil {
			t.Fatal(err)
		}
		if cp, err := d.Checkpoint(ctx, "crm", "contacts"); err != nil || cp.Watermark != "w1" || cp.Version != v {
			t.Fatalf("checkpoint %+v %v, want version %s", cp, err, v)
		}
	}
}

// TestHistoryKeepsFieldWarnings: a history table made before the
// field_warnings column gets it when the destination opens; a sync's
// per-field warning counts are stored and read back, and a sync without
// warnings reads none.
func TestHistoryKeepsFieldWarnings(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "ALTER TABLE crmsync_sync_history DROP COLUMN field_warnings"); err != nil {
		t.Fatal(err)
	}
	if err := d.createState(ctx); err != nil {
		t.Fatal(err)
	}
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
