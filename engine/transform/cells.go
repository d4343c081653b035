package transform

import (
	"strings"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// A record a source wrote itself (an SQL row) comes with Keys and Cells:
// where each top-level value lies in its JSON. When every plain path of
// the program is one key, the extractor reads those values by index and
// builds the same gjson.Result the scanner would, without scanning the
// record's text again. Anything else (a nested path, an unexpected byte)
// takes the JSON path.

// cellPlan is an extractor's reading of one Keys: the slots each key
// fills. A processor keeps the last one; the records of a result share
// their Keys.
type cellPlan struct {
	keys     *source.Keys
	ok       bool    // the extractor's plain paths can be read from cells
	slots    [][]int // per key, the slots it fills (the first of duplicate keys wins)
	unfilled []int   // the plain paths' slots no key fills
}

// planCells maps keys to the plain paths' slots; ok is false when a
// plain path has more than one segment.
func (x *extractor) planCells(keys *source.Keys) cellPlan {
	p := cellPlan{keys: keys}
	for _, child := range x.root.children {
		if child.children != nil {
			return p
		}
	}
	p.slots = make([][]int, len(keys.Names))
	seen := make(map[string]bool, len(keys.Names))
	for k, name := range keys.Names {
		if seen[name] {
			continue
		}
		seen[name] = true
		if child := x.root.children[name]; child != nil {
			p.slots[k] = child.slots
		}
	}
	for name, child := range x.root.children {
		if !seen[name] {
			p.unfilled = append(p.unfilled, child.slots...)
		}
	}
	p.ok = true
	return p
}

// extractRecord is extract for a source record: from its cells where it
// has them and the plan allows, else from its JSON.
func (x *extractor) extractRecord(rec source.Record, out []gjson.Result, found []bool, order *keyOrder, plan *cellPlan) {
	if rec.Keys != nil && x.simple > 0 && len(rec.Cells) == len(rec.Keys.Names) {
		if plan.keys != rec.Keys {
			*plan = x.planCells(rec.Keys)
		}
		if plan.ok && x.fromCells(rec, out, plan) {
			for _, c := range x.complex {
				out[c.slot] = gjson.Get(rec.JSON, c.path)
			}
			return
		}
	}
	x.extract(rec.JSON, out, found, order)
}

// fromCells fills the plain paths' slots from the record's cells, as
// scan would; false when a cell is not what the source promised. Every
// plain slot is written (a missing key's is zero), so out needs no
// clearing first; found is extract's and stays untouched.
func (x *extractor) fromCells(rec source.Record, out []gjson.Result, plan *cellPlan) bool {
	for _, s := range plan.unfilled {
		out[s] = gjson.Result{}
	}
	js := rec.JSON
	for k, slots := range plan.slots {
		if len(slots) == 0 {
			continue
		}
		c := rec.Cells[k]
		if c.Start >= c.End || int(c.End) > len(js) {
			return false
		}
		raw := js[c.Start:c.End]
		v := gjson.Result{Raw: raw, Index: int(c.Start)}
		switch ch := raw[0]; {
		case ch == '"':
			if len(raw) < 2 || raw[len(raw)-1] != '"' {
				return false
			}
			v.Type, v.Str = gjson.String, raw[1:len(raw)-1]
			if strings.IndexByte(v.Str, '\\') >= 0 {
				v.Str = gjson.Parse(raw).Str
			}
		case ch == '-' || isDigit(ch):
			v.Type, v.Num = gjson.Number, number(raw)
		case raw == "null":
			v.Type = gjson.Null
		case raw == "true":
			v.Type = gjson.True
		case raw == "false":
			v.Type = gjson.False
		default:
			return false // embedded JSON: the scanner's to read
		}
		for _, s := range slots {
			out[s] = v
		}
	}
	return true
}
