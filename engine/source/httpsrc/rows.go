package httpsrc

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/jsontext"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// rows: records that are arrays of cells (a spreadsheet's rows, a query's
// result rows) become objects, {name[i]: cell[i]}, so that fields name
// columns by their header. With header: first the first row of the read
// (the first page's) names the columns and is no record; later pages,
// and a read resumed from a stored position (the names are stored in
// it), reuse those names.
//
// A row with fewer cells than names (spreadsheets drop trailing empty
// cells) has null in the missing ones; a row with more cells than names
// is rejected: its extra cells have no column to go to.

// rowsSpec is a compiled rows block.
type rowsSpec struct {
	header bool     // the first row names the columns
	names  []string // header: none
	// cellsArr is the path from a row to its cells ("" the row itself);
	// cellsElem, when the cells path projects (Data.#.VarCharValue), the
	// path in each element: an element without it is a null cell, not a
	// shifted column.
	cellsArr, cellsElem string
	key                 string // for the resume key
}

// RowsHeaders are the values rows.header takes.
var RowsHeaders = []string{"first", "none"}

func compileRows(r *Rows, at string, p *problems) *rowsSpec {
	if r == nil {
		return nil
	}
	s := &rowsSpec{}
	switch r.Header {
	case "", "first":
		s.header = true
		if len(r.Names) > 0 {
			p.errf(at+"/names", "conflicting-settings", "rows.names gives the column names of header: none; with header: first the first row names them: drop one")
		}
	case "none":
		if len(r.Names) == 0 {
			p.errf(at+"/names", "missing-setting", "rows with header: none needs names: the column names in order ([id, name, email])")
		}
		if err := checkNames(r.Names); err != nil {
			p.errf(at+"/names", "invalid-value", "rows.names: %v", err)
		}
		s.names = r.Names
	default:
		p.errf(at+"/header", "invalid-value", "rows.header %q: want first (the first row names the columns) or none (names: gives them)", r.Header)
	}
	if r.Cells != "" && p.path(at+"/cells", "rows.cells", r.Cells) {
		switch i := strings.Index(r.Cells, ".#."); {
		case strings.HasPrefix(r.Cells, "#."):
			s.cellsElem = r.Cells[2:]
		case i > 0:
			s.cellsArr, s.cellsElem = r.Cells[:i], r.Cells[i+3:]
		default:
			s.cellsArr = r.Cells
		}
	}
	s.key = fmt.Sprintf("rows:%s:%q:%s", r.Header, r.Names, r.Cells)
	return s
}

// checkNames reports an empty or repeated column name.
func checkNames(names []string) error {
	seen := make(map[string]int, len(names))
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			return fmt.Errorf("column %s has an empty name", column(i))
		}
		if j, dup := seen[n]; dup {
			return fmt.Errorf("columns %s and %s are both named %q", column(j), column(i), n)
		}
		seen[n] = i
	}
	return nil
}

// column names column i (0-based) by number and spreadsheet letter: 3 (C).
func column(i int) string {
	letters := ""
	for n := i + 1; n > 0; n = (n - 1) / 26 {
		letters = string(rune('A'+(n-1)%26)) + letters
	}
	return strconv.Itoa(i+1) + " (" + letters + ")"
}

// rowShaper turns one read's rows into objects.
type rowShaper struct {
	spec  *rowsSpec
	names []string
	keys  [][]byte // each name as a JSON string and a colon
	rows  int      // rows seen in this read, the header included
	buf   []byte
}

func newRowShaper(s *rowsSpec) *rowShaper {
	sh := &rowShaper{spec: s}
	if !s.header {
		sh.setNames(s.names)
	}
	return sh
}

func (sh *rowShaper) setNames(names []string) {
	sh.names = names
	sh.keys = make([][]byte, len(names))
	for i, n := range names {
		b, _ := json.Marshal(n)
		sh.keys[i] = append(b, ':')
	}
}

// cells returns a row's cells; each is a JSON value.
func (sh *rowShaper) cells(row gjson.Result, into []gjson.Result) ([]gjson.Result, error) {
	arr := row
	if sh.spec.cellsArr != "" {
		arr = row.Get(sh.spec.cellsArr)
	}
	if !arr.IsArray() {
		if sh.spec.cellsArr != "" {
			return nil, fmt.Errorf("the cells path %q holds %s, not an array of cells", sh.spec.cellsArr, jsontext.Kind(arr))
		}
		return nil, fmt.Errorf("the row is %s, not an array of cells (set rows.cells to the path of the cells)", jsontext.Kind(arr))
	}
	into = into[:0]
	arr.ForEach(func(_, v gjson.Result) bool {
		if sh.spec.cellsElem != "" {
			v = v.Get(sh.spec.cellsElem)
		}
		into = append(into, v)
		return true
	})
	return into, nil
}

// shape replaces the page's rows by objects. On the first page of a read
// that has no names yet, the first row is the header.
func (sh *rowShaper) shape(recs []source.Record) ([]source.Record, []source.Reject, error) {
	var rejects []source.Reject
	var cells []gjson.Result
	out := recs[:0]
	for _, rec := range recs {
		sh.rows++
		var err error
		cells, err = sh.cells(gjson.Parse(rec.JSON), cells)
		if sh.names == nil {
			if err != nil {
				return nil, nil, fmt.Errorf("the header row: %v", err)
			}
			if err := sh.header(cells); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err != nil {
			rejects = append(rejects, source.Reject{Raw: rec.JSON, File: "row", Row: sh.rows, Reason: fmt.Sprintf("row %d: %v", sh.rows, err)})
			continue
		}
		if len(cells) > len(sh.names) {
			rejects = append(rejects, source.Reject{Raw: rec.JSON, File: "row", Row: sh.rows, Reason: fmt.Sprintf(
				"row %d has %d cells but only %d columns have a name: the cells from column %s on have no column to go to",
				sh.rows, len(cells), len(sh.names), column(len(sh.names)))})
			continue
		}
		b := append(sh.buf[:0], '{')
		for i, k := range sh.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, k...)
			if i < len(cells) && cells[i].Exists() {
				b = append(b, cells[i].Raw...)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, '}')
		sh.buf = b
		out = append(out, source.Record{JSON: string(b), Row: sh.rows})
	}
	return out, rejects, nil
}

// header takes the column names from the header row's cells: strings, or
// numbers and booleans by their text.
func (sh *rowShaper) header(cells []gjson.Result) error {
	names := make([]string, len(cells))
	for i, c := range cells {
		switch c.Type {
		case gjson.String, gjson.Number, gjson.True, gjson.False:
			names[i] = c.String()
		case gjson.Null:
		default:
			return fmt.Errorf("the header row: column %s is %s, not a name", column(i), jsontext.Kind(c))
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("the header row has no cells: no column names")
	}
	if err := checkNames(names); err != nil {
		return fmt.Errorf("the header row: %v: give every column a distinct header, or use rows: {header: none, names: [...]} and skip the row", err)
	}
	sh.setNames(names)
	return nil
}

// position appends the header to a stored position, so that a resumed
// read knows the column names.
func (sh *rowShaper) position(b []byte) []byte {
	if !sh.spec.header || sh.names == nil {
		return b
	}
	hb, _ := json.Marshal(sh.names)
	b = append(b, `,"header":`...)
	b = append(b, hb...)
	b = append(b, `,"rows":`...)
	return strconv.AppendInt(b, int64(sh.rows), 10)
}

// resume restores the header of a stored position; false when it has none.
func (sh *rowShaper) resume(st gjson.Result) bool {
	if !sh.spec.header {
		return true
	}
	h := st.Get("header")
	if !h.IsArray() {
		return false
	}
	var names []string
	for _, n := range h.Array() {
		names = append(names, n.String())
	}
	if checkNames(names) != nil || len(names) == 0 {
		return false
	}
	sh.setNames(names)
	sh.rows = int(st.Get("rows").Int())
	return true
}
