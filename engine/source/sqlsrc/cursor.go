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
// keeps the newest fallback time among rows whose increment is NULL.
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
	if rn.r.o.stmts.fb != "" && rn.cur.vals[0].null && !rn.cur.vals[1].null {
		if f := rn.cur.vals[1].b; !rn.fbSet || bytes.Compare(f, rn.fbMax) > 0 {
			rn.fbMax, rn.fbSet = append(rn.fbMax[:0], f...), true
		}
	}
}

// resumeState is Page.Resume:
// {"key":"<hash of the keyset>","phase":"value","after":[…],"fallback":"…"}.
// after holds every hidden column (the increment and the fallback, then
// the key columns); phase says which part of the read it is in.
// fallback is the watermark of incremental.fallback: the newest fallback
// time among rows with a NULL increment. It stays after a complete read
// ({"key":…,"fallback":…} with no after), since the runner keeps one
// watermark per entity, the increment's.
type resumeState struct {
	Key      string            `json:"key"`
	Phase    string            `json:"phase,omitempty"`
	After    []json.RawMessage `json:"after,omitempty"`
	Fallback *string           `json:"fallback,omitempty"`
	Seen     *string           `json:"seen,omitempty"` // inside a read: the newest fallback read so far
}

func (o *opener) keyHash() string {
	h := fnv.New64a()
	h.Write([]byte(o.keySig))
	return strconv.FormatUint(h.Sum64(), 16)
}

// resumeText writes the state; cursor false writes the state of a
// complete read (only the fallback watermark, or ""). Inside a read the
// fallback stays the one the read started from: a position dropped later
// must not skip rows; seen is what the read found so far.
func (rn *run) resumeText(cursor bool) string {
	if !cursor && !rn.fbSet {
		return ""
	}
	fb, seen := rn.fbMax, []byte(nil)
	if cursor {
		fb, seen = []byte(rn.fbStart), rn.fbMax
		if !rn.fbStartSet {
			fb = nil
		}
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"key":"`...)
	b = append(b, rn.r.o.keyHash()...)
	b = append(b, '"')
	if cursor {
		if rn.r.o.stmts.mode == modeInc {
			b = append(b, `,"phase":"`...)
			b = append(b, rn.cur.phase.String()...)
			b = append(b, '"')
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
	if fb != nil {
		b = append(b, `,"fallback":`...)
		b = appendString(b, fb)
	}
	if cursor && rn.fbSet {
		b = append(b, `,"seen":`...)
		b = appendString(b, seen)
	}
	return string(append(b, '}'))
}

// loadResume continues after a committed page. A state written for
// another keyset (the entity's key, increment or fallback changed) is
// dropped: the read starts over, which upserts can absorb.
func (rn *run) loadResume(s string) error {
	o := rn.r.o
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
	if rs.Fallback != nil && o.stmts.fb != "" {
		rn.fbStart, rn.fbStartSet = *rs.Fallback, true
		rn.fbMax, rn.fbSet = []byte(*rs.Fallback), true
	}
	if len(rs.After) == 0 {
		return nil
	}
	if rs.Seen != nil && o.stmts.fb != "" {
		rn.fbSeen, rn.fbSeenSet = []byte(*rs.Seen), true
	}
	ph := phaseKey
	if o.stmts.mode == modeInc {
		switch rs.Phase {
		case phaseKey.String():
		case phaseValue.String():
			ph = phaseValue
		case phaseFallback.String():
			ph = phaseFallback
		default:
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
