package sqlite

import "github.com/crmsync/crmsync/engine/sink"

func init() { sink.RegisterShape("sqlite", shape) }

// shape is the table ensureTable makes; SQLite's tables are in "main".
func shape(_ string, t *sink.Table) (sink.Shape, error) {
	s := sink.Shape{Schema: "main"}
	for i, c := range columns(t) {
		s.Columns = append(s.Columns, sink.ShapeColumn{Name: c.name, SQLType: c.typ, System: i >= len(t.Columns)})
	}
	return s, nil
}
