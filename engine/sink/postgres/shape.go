package postgres

import (
	"strings"

	"github.com/crmsync/crmsync/engine/sink"
)

func init() { sink.RegisterShape("postgres", shape) }

// shape is the table createSQL makes, in the DSN's schema.
func shape(dsn string, t *sink.Table) (sink.Shape, error) {
	_, schema, err := splitDSN(dsn)
	if err != nil {
		return sink.Shape{}, err
	}
	s := sink.Shape{Schema: schema}
	for _, c := range t.Columns {
		st, err := typeOf(c.Type)
		if err != nil {
			return sink.Shape{}, err
		}
		s.Columns = append(s.Columns, sink.ShapeColumn{Name: c.Name, SQLType: st.name})
	}
	for _, c := range sysCols {
		if c.when(t) {
			typ, _, _ := strings.Cut(c.typ, " ")
			s.Columns = append(s.Columns, sink.ShapeColumn{Name: c.name, SQLType: typ, System: true})
		}
	}
	return s, nil
}
