package sqlsrc

import (
	"strconv"
	"strings"
)

// mode is how an entity is read.
type mode uint8

const (
	// modeStream runs the statement once and streams it (no key to page on).
	modeStream mode = iota
	// modeKey pages on the key columns (full refresh, lookup tables).
	modeKey
	// modeInc pages on (incremental column, key columns).
	modeInc
)

// phase is a part of one read.
type phase uint8

const (
	phaseAll   phase = iota // modeStream: the whole statement
	phaseKey                // every row by key (modeKey; modeInc on a full run)
	phaseValue              // modeInc: rows with an increment, by (increment, key)
	// phaseExtra + k: the k-th extra stream of an incremental read, by
	// (its column, key) from its own watermark: incremental.fallback
	// (rows whose increment is NULL), then incremental.joined.
	phaseExtra
)

// shape says which statement a page needs; statements are built once
// per shape and read.
type shape struct {
	phase  phase
	cursor bool // continue after a key
	wm     bool // the watermark filter applies (an extra stream: its own watermark)
	start  bool // window start applies
	end    bool // window end applies
	count  bool // COUNT(*) of what the read will cover
	strict bool // the watermark compares with > (a full read's catch-up without lookback)
	lo, hi bool // a partition's bounds on the key apply (key >= :rlo, key < :rhi)
}

func (p phase) String() string {
	if p >= phaseExtra {
		return "extra" + strconv.Itoa(int(p-phaseExtra))
	}
	return [...]string{"all", "key", "value"}[p]
}

func (sh shape) String() string {
	s := sh.phase.String()
	for _, f := range []struct {
		on   bool
		name string
	}{{sh.cursor, "cursor"}, {sh.wm, "watermark"}, {sh.strict, "strict"}, {sh.start, "window_start"}, {sh.end, "window_end"}, {sh.count, "count"}, {sh.lo, "range_lo"}, {sh.hi, "range_hi"}} {
		if f.on {
			s += "+" + f.name
		}
	}
	return s
}

// Parameters of a partition's key range (never names of an author's query).
const (
	pRangeLo = "_crmsync_lo"
	pRangeHi = "_crmsync_hi"
)

// Names of the hidden columns that carry the keyset values.
const (
	hiddenInc    = "_crmsync_inc"
	hiddenExtra  = "_crmsync_x"
	hiddenPrefix = "_crmsync_k"
)

// statements holds what the compile step decided: every piece of SQL is
// quoted or scanned once, and a statement per shape is only glued.
type statements struct {
	d     *dialect
	mode  mode
	batch int

	// Exactly one of table or query is set.
	table string  // quoted name
	cols  string  // select list for table reads: * or quoted names
	where string  // the author's condition, pasted as written
	query sqlText // the author's query with its placeholders
	inc   string  // incremental column expression (SQL)
	extra []extra // the extra keyset streams of an incremental read
	keys  []string
}

// extra is a keyset stream of an incremental read besides the
// increment's: a plain column, so an index on it serves the read.
type extra struct {
	name    string // as configured (the resume state's name for it)
	col     string // quoted
	nullInc bool   // incremental.fallback: only rows whose increment is NULL
}

// hidden is the number of keyset columns added after the author's:
// the increment and the extra streams' columns (modeInc), then the keys.
func (s *statements) hidden() int {
	switch s.mode {
	case modeStream:
		return 0
	case modeInc:
		return 1 + len(s.extra) + len(s.keys)
	}
	return len(s.keys)
}

// hiddenIndex is the index among the hidden values of the i-th keyset
// value of a phase: its lead (the increment or an extra column), then
// the keys.
func (s *statements) hiddenIndex(ph phase, i int) int {
	if s.mode != modeInc {
		return i
	}
	keys := 1 + len(s.extra)
	switch {
	case ph == phaseValue && i == 0:
		return 0
	case ph >= phaseExtra && i == 0:
		return 1 + int(ph-phaseExtra)
	case ph == phaseValue || ph >= phaseExtra:
		return keys + i - 1
	}
	return keys + i
}

// lead is the expression a phase orders on before the keys, "" for none.
func (s *statements) lead(ph phase) string {
	switch {
	case ph == phaseValue:
		return s.inc
	case ph >= phaseExtra:
		return s.extra[ph-phaseExtra].col
	}
	return ""
}

// extraParam names the bound watermark of the k-th extra stream.
func extraParam(k int) string { return "x" + strconv.Itoa(k) }

// build writes the statement of one shape.
func (s *statements) build(sh shape) sqlText {
	var t sqlText
	if sh.count {
		t.add("SELECT COUNT(*) FROM ")
		s.addSource(&t)
		s.addWhere(&t, s.filters(sh, false))
		return t
	}
	if s.mode == modeStream {
		if s.query != nil {
			return s.query
		}
		t.add("SELECT ", s.cols, " FROM ", s.table)
		s.addWhere(&t, nil)
		return t
	}
	if s.query != nil {
		t.add("SELECT q.*")
	} else {
		t.add("SELECT ", s.cols)
	}
	if s.mode == modeInc {
		t.add(", ", s.inc, " AS ", hiddenInc)
		for k, x := range s.extra {
			t.add(", ", x.col, " AS ", hiddenExtra+strconv.Itoa(k))
		}
	}
	for i, k := range s.keys {
		t.add(", ", k, " AS ", hiddenPrefix+strconv.Itoa(i))
	}
	t.add(" FROM ")
	s.addSource(&t)
	s.addWhere(&t, s.filters(sh, true))
	t.add(" ORDER BY ")
	if l := s.lead(sh.phase); l != "" {
		t.add(l, ", ")
	}
	t.add(strings.Join(s.keys, ", "))
	t.add(" LIMIT ", strconv.Itoa(s.batch+1)) // one more row: is there another page?
	return t
}

func (s *statements) addSource(t *sqlText) {
	if s.query != nil {
		// Newlines keep a -- comment on the query's last line from
		// swallowing the closing parenthesis.
		t.add("(\n")
		t.addText(s.query)
		t.add("\n) q")
		return
	}
	t.add(s.table)
}

// addWhere joins the author's where (table reads) and the filters.
func (s *statements) addWhere(t *sqlText, filters []sqlText) {
	first := true
	and := func() {
		if first {
			t.add(" WHERE ")
			first = false
		} else {
			t.add(" AND ")
		}
	}
	if s.where != "" {
		and()
		t.add("(", s.where, ")")
	}
	for _, f := range filters {
		and()
		t.addText(f)
	}
}

// filters are the conditions of a shape: the phase, the watermark and
// window on the incremental column, and the keyset after the cursor.
func (s *statements) filters(sh shape, keyset bool) []sqlText {
	var out []sqlText
	cond := func(parts ...string) sqlText {
		var c sqlText
		for _, p := range parts {
			if name, ok := strings.CutPrefix(p, ":"); ok {
				c.param(name)
			} else {
				c.add(p)
			}
		}
		return c
	}
	if s.mode == modeInc && !sh.count {
		switch sh.phase {
		case phaseValue:
			if !sh.wm && !sh.start && !sh.end {
				out = append(out, cond(s.inc, " IS NOT NULL"))
			}
		default:
			if sh.phase < phaseExtra {
				break
			}
			// Index-friendly: plain columns, no expression over them.
			k := int(sh.phase - phaseExtra)
			x := s.extra[k]
			if x.nullInc {
				out = append(out, cond(s.inc, " IS NULL"))
			}
			if sh.wm {
				out = append(out, cond(x.col, sh.cmp(), ":"+extraParam(k)))
			} else {
				out = append(out, cond(x.col, " IS NOT NULL"))
			}
		}
	}
	if s.mode == modeInc && (sh.count || sh.phase == phaseValue) {
		if sh.wm {
			out = append(out, cond(s.inc, sh.cmp(), ":"+pWatermark))
		}
		if sh.start {
			out = append(out, cond(s.inc, " >= ", ":"+pWindowStart))
		}
		if sh.end {
			out = append(out, cond(s.inc, " < ", ":"+pWindowEnd))
		}
	}
	if sh.lo {
		out = append(out, cond(s.keys[0], " >= ", ":"+pRangeLo))
	}
	if sh.hi {
		out = append(out, cond(s.keys[0], " < ", ":"+pRangeHi))
	}
	if keyset && sh.cursor {
		exprs := s.keys
		if l := s.lead(sh.phase); l != "" {
			exprs = append([]string{l}, s.keys...)
		}
		out = append(out, s.after(exprs))
	}
	return out
}

// cmp is the watermark comparison: >= re-reads the rows at the
// watermark (a row written in the same second is not lost); a full
// read's catch-up without lookback uses >, since it read those rows.
func (sh shape) cmp() string {
	if sh.strict {
		return " > "
	}
	return " >= "
}

// maxOf is the statement that finds the newest value of a stream's
// column before a full read: where its catch-up starts.
func (s *statements) maxOf(col string, nullInc bool) sqlText {
	var t sqlText
	t.add("SELECT MAX(", col, ") FROM ")
	s.addSource(&t)
	var f []sqlText
	if nullInc {
		var c sqlText
		c.add(s.inc, " IS NULL")
		f = append(f, c)
	}
	s.addWhere(&t, f)
	return t
}

// after is the keyset condition "exprs come after the cursor values
// :c0, :c1 …": a row-value comparison where the driver has a good one,
// else the expanded form with a leading range on the first expression
// so that an index on it is used.
func (s *statements) after(exprs []string) sqlText {
	var t sqlText
	p := func(i int) string { return "c" + strconv.Itoa(i) }
	if len(exprs) == 1 {
		t.add(exprs[0], " > ")
		t.param(p(0))
		return t
	}
	if s.d.rowCompare {
		t.add("(", strings.Join(exprs, ", "), ") > (")
		for i := range exprs {
			if i > 0 {
				t.add(", ")
			}
			t.param(p(i))
		}
		t.add(")")
		return t
	}
	t.add(exprs[0], " >= ")
	t.param(p(0))
	t.add(" AND ")
	closing := 0
	for i, e := range exprs {
		if i == len(exprs)-1 {
			t.add(e, " > ")
			t.param(p(i))
			break
		}
		t.add("(", e, " > ")
		t.param(p(i))
		t.add(" OR (", e, " = ")
		t.param(p(i))
		t.add(" AND ")
		closing += 2
	}
	t.add(strings.Repeat(")", closing))
	return t
}
