package sqlsrc

import (
	"fmt"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// layout is how a result's rows become JSON objects: the key prefix and
// kind of every visible column, and where the hidden keyset columns are.
// It is rebuilt only when a result's columns differ from the last one's.
type layout struct {
	orig    []column // the columns as the driver reported them
	cols    []column // the same, with kinds settled for this session
	visible int      // columns written to the record; the hidden ones follow
	prefix  [][]byte // `{"name":` for the first column, `,"name":` after
	incKey  []byte   // the increment written as incremental.field, when no column has that name
	incIdx  int
	// keys are the record's keys in order, for the Cells of each record
	// (see source.Record); nil when a column is embedded JSON, whose text
	// is the database's and not known to be one well-formed value.
	keys *source.Keys
}

func (rn *run) layoutFor(cols []column) error {
	if sameColumns(rn.lay.orig, cols) {
		return nil
	}
	o := rn.r.o
	hidden := o.stmts.hidden()
	if len(cols) < hidden {
		return fmt.Errorf("entity %q: the result has %d columns, fewer than the %d keyset columns crmsync added", o.entity, len(cols), hidden)
	}
	l := layout{orig: append([]column(nil), cols...), cols: append([]column(nil), cols...), visible: len(cols) - hidden, incIdx: -1}
	for i := range l.cols {
		if l.cols[i].kind == kTimeUTC && !rn.sess.utc {
			l.cols[i].kind = kTime // the DSN chose the session zone: TIMESTAMP is a wall clock there
		}
	}
	seen := make(map[string]bool, l.visible)
	for i := 0; i < l.visible; i++ {
		name := l.cols[i].name
		if seen[name] {
			return fmt.Errorf("entity %q: the result has two columns named %q: give one an alias (AS other_name)", o.entity, name)
		}
		seen[name] = true
		p := []byte{','}
		if i == 0 {
			p[0] = '{'
		}
		p = appendString(p, []byte(name))
		l.prefix = append(l.prefix, append(p, ':'))
	}
	if o.stmts.mode == modeInc && !seen[o.incField] {
		l.incIdx = l.visible
		p := []byte{','}
		if l.visible == 0 {
			p[0] = '{'
		}
		p = appendString(p, []byte(o.incField))
		l.incKey = append(p, ':')
	}
	l.keys = l.indexKeys(o.incField)
	rn.lay = l
	if n := hidden; len(rn.cur.vals) != n {
		rn.cur.vals = make([]cval, n)
	}
	return nil
}

// indexKeys names the keys appendRow writes, or nil when a value may
// not be one JSON value.
func (l *layout) indexKeys(incField string) *source.Keys {
	k := &source.Keys{}
	for i := 0; i < l.visible; i++ {
		if l.cols[i].kind == kJSON {
			return nil
		}
		k.Names = append(k.Names, l.cols[i].name)
	}
	if l.incKey != nil {
		if l.cols[l.incIdx].kind == kJSON {
			return nil
		}
		k.Names = append(k.Names, incField)
	}
	return k
}

func sameColumns(a, b []column) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// appendRow writes one row as a JSON object. With index (the layout has
// keys), it also appends to cells where each value lies, relative to the
// row's first byte.
func (l *layout) appendRow(buf []byte, vals [][]byte, tz *time.Location, scratch *[]byte, cells []source.Cell, index bool) ([]byte, []source.Cell) {
	row := len(buf)
	for i := 0; i < l.visible; i++ {
		buf = append(buf, l.prefix[i]...)
		start := len(buf)
		if v := vals[i]; v == nil {
			buf = append(buf, "null"...)
		} else {
			buf = appendValue(buf, l.cols[i].kind, v, tz, scratch)
		}
		if index {
			cells = append(cells, source.Cell{Start: uint32(start - row), End: uint32(len(buf) - row)})
		}
	}
	if l.incKey != nil {
		buf = append(buf, l.incKey...)
		start := len(buf)
		if v := vals[l.incIdx]; v == nil {
			buf = append(buf, "null"...)
		} else {
			buf = appendValue(buf, l.cols[l.incIdx].kind, v, tz, scratch)
		}
		if index {
			cells = append(cells, source.Cell{Start: uint32(start - row), End: uint32(len(buf) - row)})
		}
	}
	if l.visible == 0 && l.incKey == nil {
		buf = append(buf, '{')
	}
	return append(buf, '}'), cells
}
