package memory

import (
	"context"
	"errors"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	d := New()
	child := &sink.Table{Name: "t_kids", Columns: []sink.Column{{Name: "id", Type: value.Integer}, {Name: "k", Type: value.String}}, ParentKey: []string{"id"}}
	tab := &sink.Table{Name: "t", Columns: []sink.Column{{Name: "id", Type: value.Integer}, {Name: "v", Type: value.String}},
		PrimaryKey: []string{"id"}, Children: []*sink.Table{child}}
	for _, tb := range []*sink.Table{tab, child} {
		if err := d.Prepare(ctx, tb); err != nil {
			t.Fatal(err)
		}
	}
	res, err := d.Write(ctx, &sink.Batch{Pipeline: "p", Entity: "e", Table: tab,
		Rows:       []sink.Row{{Values: []any{int64(1), "a"}}, {Values: []any{int64(2), "b"}}},
		Children:   []sink.ChildRows{{Table: child, Parents: [][]any{{int64(1)}, {int64(2)}}, Rows: []sink.Row{{Values: []any{int64(1), "x"}}, {Values: []any{int64(2), "y"}}}}},
		Rejects:    []sink.Reject{{RecordID: "3", Reasons: []string{"bad"}}},
		Checkpoint: &sink.Checkpoint{Watermark: "w1"}})
	if err != nil || res.Created != 2 || res.Updated != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	res, err = d.Write(ctx, &sink.Batch{Pipeline: "p", Entity: "e", Table: tab,
		Rows:     []sink.Row{{Values: []any{int64(1), "a2"}}},
		Children: []sink.ChildRows{{Table: child, Parents: [][]any{{int64(1)}}}}})
	if err != nil || res.Created != 0 || res.Updated != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if rows := d.Rows("t"); len(rows) != 2 || rows[0].Values[1] != "a2" {
		t.Errorf("rows %+v", rows)
	}
	if kids := d.Rows("t_kids"); len(kids) != 1 || kids[0].Values[1] != "y" {
		t.Errorf("child rows %+v (parent 1's children were replaced by none)", kids)
	}
	if cp, _ := d.Checkpoint(ctx, "p", "e"); cp.Watermark != "w1" {
		t.Errorf("checkpoint %+v", cp)
	}
	if rj, _ := d.Rejects(ctx, sink.Filter{}); len(rj) != 1 || rj[0].RecordID != "3" {
		t.Errorf("rejects %+v", rj)
	}
	unlock, err := d.Lock(ctx, "p", "e")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Lock(ctx, "p", "e"); !errors.Is(err, sink.ErrLocked) {
		t.Errorf("second lock: %v", err)
	}
	unlock()
	s := &sink.Sync{Pipeline: "p", Entity: "e", Status: sink.StatusRunning}
	id, _ := d.StartSync(ctx, s)
	s.Status = sink.StatusSuccess
	if err := d.FinishSync(ctx, s); err != nil {
		t.Fatal(err)
	}
	if h, _ := d.History(ctx, sink.Filter{}); len(h) != 1 || h[0].ID != id || h[0].Status != sink.StatusSuccess {
		t.Errorf("history %+v", h)
	}
}
