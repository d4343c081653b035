package postgres

import (
	"context"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestShapeIsWhatPrepareCreates: Describe, which connects to nothing,
// says exactly what Prepare makes — every column, in order, of its type —
// in the DSN's schema.
func TestShapeIsWhatPrepareCreates(t *testing.T) {
	d, admin := openTest(t)
	for _, tbl := range []*sink.Table{allTypes(), contactsTable(), func() *sink.Table {
		tb := contactsTable()
		tb.Name, tb.KeepRaw, tb.DeleteMissing = "soft_contacts", true, sink.DeleteSoft
		return tb
	}(), func() *sink.Table {
		tb := contactsTable()
		tb.Name, tb.PrimaryKey, tb.Write = "log", nil, sink.Append
		return tb
	}()} {
		mustPrepare(t, d, tbl)
		shape, err := sink.Describe(withSchema(t, testDSN(t), d.Schema()), tbl)
		if err != nil {
			t.Fatal(err)
		}
		if shape.Schema != d.Schema() {
			t.Errorf("%s: schema %q, want %q", tbl.Name, shape.Schema, d.Schema())
		}
		rows, err := admin.Query(context.Background(), `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
			FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, quote(tbl.Name))
		if err != nil {
			t.Fatal(err)
		}
		var names, types []string
		for rows.Next() {
			var n, ty string
			rows.Scan(&n, &ty)
			names, types = append(names, n), append(types, ty)
		}
		rows.Close()
		if len(names) != len(shape.Columns) {
			t.Fatalf("%s: table has %v, shape %+v", tbl.Name, names, shape.Columns)
		}
		for i, c := range shape.Columns {
			var norm string
			if err := admin.QueryRow(context.Background(), "SELECT $1::regtype::text", c.SQLType).Scan(&norm); err != nil {
				t.Fatalf("%s: type %q: %v", tbl.Name, c.SQLType, err)
			}
			if c.Name != names[i] || norm != types[i] {
				t.Errorf("%s: column %d is %s %s, shape says %s %s", tbl.Name, i, names[i], types[i], c.Name, norm)
			}
			if sys := systemColumns[c.Name]; sys != c.System {
				t.Errorf("%s: column %s System=%v", tbl.Name, c.Name, c.System)
			}
		}
	}
}
