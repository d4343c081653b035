package sqlsrc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// cursor is the keyset position after the last row read: every hidden
// column (increment and fallback for incremental reads, then the key
// columns) as the database wrote them; the phase says which of them
// the next page continues after. Text goes back to the database as it
// came, so a timestamp compares equal to itself to the microsecond.
type cursor struct {
	set   bool
	phase phase
	vals  []cval
}

// cval is one keyset value.
type cval struct {
	null bool
	num  bool // an integer column: bound as int64
	b    []byte
}

func (v *cval) arg() any {
	if v.null {
		return nil
	}
	if v.num {
		if n, err := strconv.ParseInt(string(v.b), 10, 64); err == nil {
			return n
		}
	}
	return string(v.b)
}

// capture copies the hidden keyset columns of the row just read, and
// keeps the newest value of each extra stream's column (for the
// fallback, among rows whose increment is NULL).
func (rn *run) capture(vals [][]byte, ph phase) {
	l := &rn.lay
	for j := range rn.cur.vals {
		v := vals[l.visible+j]
		cv := &rn.cur.vals[j]
		cv.null = v == nil
		cv.num = l.cols[l.visible+j].kind == kInt
		cv.b = append(cv.b[:0], v...)
	}
	rn.cur.set, rn.cur.phase = true, ph
	for k, x := range rn.r.o.stmts.extra {
		v := &rn.cur.vals[1+k]
		if v.null || (x.nullInc && !rn.cur.vals[0].null) {
			continue
		}
		if w := &rn.xs[k]; !w.set || bytes.Compare(v.b, w.max) > 0 {
			w.max, w.set = append(w.max[:0], v.b...), true
		}
	}
}

// xstate is the watermark of one extra stream: the one the read started
// from (bound, moved back by the lookback), and the newest value read.
type xstate struct {
	start    string
	startSet bool
	max      []byte
	set      bool
}

// resumeState is Page.Resume:
// {"key":"<hash of the keyset>","phase":"value","after":[…],"wm":{…},"seen":{…}}.
// after holds every hidden column (the increment and the extra streams'
// columns, then the key columns); phase says which part of the read it
// is in. wm holds the watermark of each extra stream (incremental.fallback,
// incremental.joined) by column: the newest value read. It stays after a
// complete read ({"key":…,"wm":{…}} with no after), since the runner
// keeps one watermark per entity, the increment's. Inside a read, wm
// stays what the read started from (a position dropped later must not
// skip rows) and seen holds what it read so far.
type resumeState struct {
	Key   string            `json:"key"`
	Phase string            `json:"phase,omitempty"`
	After []json.RawMessage `json:"after,omitempty"`
	WM    map[string]string `json:"wm,omitempty"`
	Seen  map[string]string `json:"seen,omitempty"`
	Catch *string           `json:"catch,omitempty"` // inside a full read: the newest increment before it began
}

func (o *opener) keyHash() string {
	h := fnv.New64a()
	h.Write([]byte(o.keySig))
	return strconv.FormatUint(h.Sum64(), 16)
}

// phaseName is a phase as the resume state names it.
func (s *statements) phaseName(ph phase) string {
	if ph >= phaseExtra {
		return s.extra[ph-phaseExtra].name
	}
	return ph.String()
}

// resumeText writes the state; cursor false writes the state of a
// complete read (only the extra streams' watermarks, or "").
func (rn *run) resumeText(cursor bool) string {
	st := rn.r.o.stmts
	wm, seen := map[string]string{}, map[string]string{}
	for k, x := range st.extra {
		w := &rn.xs[k]
		switch {
		case cursor && w.startSet:
			wm[x.name] = w.start
		case !cursor && w.set:
			wm[x.name] = string(w.max)
		}
		if cursor && w.set {
			seen[x.name] = string(w.max)
		}
	}
	if !cursor && len(wm) == 0 {
		return ""
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"key":"`...)
	b = append(b, rn.r.o.keyHash()...)
	b = append(b, '"')
	if cursor {
		if st.mode == modeInc {
			b = append(b, `,"phase":`...)
			b = appendString(b, []byte(st.phaseName(rn.cur.phase)))
		}
		b = append(b, `,"after":[`...)
		for i, v := range rn.cur.vals {
			if i > 0 {
				b = append(b, ',')
			}
			switch {
			case v.null:
				b = append(b, "null"...)
			case v.num && isJSONNumber(v.b):
				b = append(b, v.b...)
			default:
				b = appendString(b, v.b)
			}
		}
		b = append(b, ']')
	}
	if cursor && rn.catchSet {
		b = append(b, `,"catch":`...)
		b = appendString(b, []byte(rn.catch))
	}
	for _, m := range []struct {
		key  string
		vals map[string]string
	}{{"wm", wm}, {"seen", seen}} {
		if len(m.vals) == 0 {
			continue
		}
		j, _ := json.Marshal(m.vals) // sorted keys: the same state writes the same text
		b = append(b, `,"`+m.key+`":`...)
		b = append(b, j...)
	}
	return string(append(b, '}'))
}

// loadResume continues after a committed page. A state written for
// another keyset (the entity's key, increment or extra streams changed)
// is dropped: the read starts over, which upserts can absorb.
func (rn *run) loadResume(s string) error {
	o := rn.r.o
	rn.xs = make([]xstate, len(o.stmts.extra))
	if s == "" || o.stmts.mode == modeStream {
		return nil
	}
	var rs resumeState
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return fmt.Errorf("entity %q: reading the resume state %q: %w", o.entity, s, err)
	}
	want := o.stmts.hidden()
	if rs.Key != o.keyHash() || (len(rs.After) != want && len(rs.After) != 0) {
		rn.r.log.Warn("sql resume state is for another keyset; reading from the start", "entity", o.entity)
		return nil
	}
	for k, x := range o.stmts.extra {
		if v, ok := rs.WM[x.name]; ok {
			rn.xs[k] = xstate{start: v, startSet: true, max: []byte(v), set: true}
		}
	}
	if len(rs.After) == 0 {
		return nil
	}
	ph := phaseKey
	if o.stmts.mode == modeInc {
		ph = phase(255)
		for p := phaseKey; p < phaseExtra+phase(len(o.stmts.extra)); p++ {
			if o.stmts.phaseName(p) == rs.Phase {
				ph = p
			}
		}
		if ph == 255 {
			// A position from before phases were named: start over.
			rn.r.log.Warn("sql resume state is from an older crmsync; reading from the start", "entity", o.entity)
			return nil
		}
	}
	rn.cur.vals = make([]cval, want)
	for i, raw := range rs.After {
		cv := &rn.cur.vals[i]
		switch {
		case string(raw) == "null":
			cv.null = true
		case len(raw) > 0 && raw[0] == '"':
			var str string
			if err := json.Unmarshal(raw, &str); err != nil {
				return fmt.Errorf("entity %q: reading the resume state %q: %w", o.entity, s, err)
			}
			cv.b = []byte(str)
		default:
			cv.num, cv.b = true, []byte(raw)
		}
	}
	rn.cur.set, rn.cur.phase = true, ph
	rn.seen = rs.Seen
	if rs.Catch != nil && rn.full() {
		rn.catch, rn.catchSet = *rs.Catch, true
	}
	return nil
}

// shiftText moves a time the database wrote as text back by d, in the
// same form, for the fallback's lookback; text that is no time it knows
// is returned as it is.
func shiftText(s string, d time.Duration) string {
	if d == 0 {
		return s
	}
	for _, layout := range []string{
		"2006-01-02 15:04:05.999999999",
		"2006-01-02 15:04:05.999999999-07",
		"2006-01-02 15:04:05.999999999-07:00",
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			if layout == "2006-01-02" {
				layout = "2006-01-02 15:04:05"
			}
			return t.Add(-d).Format(layout)
		}
	}
	return s
}
