package sqlite

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// TestShapeIsWhatPrepareCreates: Describe says exactly the columns and
// declared types Prepare makes.
func TestShapeIsWhatPrepareCreates(t *testing.T) {
	d, path := openTemp(t)
	tb := &sink.Table{
		Name: "contacts",
		Columns: []sink.Column{{Name: "id", Type: value.Integer}, {Name: "amount", Type: value.Decimal},
			{Name: "at", Type: value.Datetime}, {Name: "extra", Type: value.JSON}},
		PrimaryKey: []string{"id"}, KeepRaw: true, DeleteMissing: sink.DeleteSoft,
	}
	mustPrepare(t, d, tb)
	shape, err := sink.Describe("sqlite:"+path, tb)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range shape.Columns {
		got = append(got, c.Name+"|"+c.SQLType)
		if c.System != strings.HasPrefix(c.Name, "_") {
			t.Errorf("column %s: System=%v", c.Name, c.System)
		}
	}
	equal(t, "shape", got, dump(t, d, "SELECT name, type FROM pragma_table_info(?)", tb.Name))
	if shape.Schema != "main" {
		t.Errorf("schema %q", shape.Schema)
	}
}
