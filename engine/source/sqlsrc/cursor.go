package sqlsrc

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
)

// cursor is the keyset position after the last row read: the increment
// (incremental reads) then the key columns, as the database wrote them.
// Text goes back to the database as it came, so a timestamp compares
// equal to itself to the microsecond.
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

// capture copies the hidden keyset columns of the row just read.
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
}

// resumeState is Page.Resume: {"key":"<hash of the keyset>","after":[…]}.
// after holds the increment first (null while the rows with a NULL
// increment are read), then the key columns.
type resumeState struct {
	Key   string            `json:"key"`
	After []json.RawMessage `json:"after"`
}

func (o *opener) keyHash() string {
	h := fnv.New64a()
	h.Write([]byte(o.keySig))
	return strconv.FormatUint(h.Sum64(), 16)
}

func (rn *run) resumeText() string {
	b := make([]byte, 0, 64)
	b = append(b, `{"key":"`...)
	b = append(b, rn.r.o.keyHash()...)
	b = append(b, `","after":[`...)
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
	return string(append(b, "]}"...))
}

// loadResume continues after a committed page. A state written for
// another keyset (the entity's key or increment changed) is dropped:
// the read starts over, which upserts can absorb.
func (rn *run) loadResume(s string) error {
	o := rn.r.o
	if s == "" || o.stmts.mode == modeStream {
		return nil
	}
	var rs resumeState
	if err := json.Unmarshal([]byte(s), &rs); err != nil {
		return fmt.Errorf("entity %q: reading the resume state %q: %w", o.entity, s, err)
	}
	want := len(o.stmts.keys)
	if o.stmts.mode == modeInc {
		want++
	}
	if rs.Key != o.keyHash() || len(rs.After) != want {
		rn.r.log.Warn("sql resume state is for another keyset; reading from the start", "entity", o.entity)
		return nil
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
	rn.cur.set, rn.cur.phase = true, phaseKey
	if o.stmts.mode == modeInc {
		rn.cur.phase = phaseValue
		if rn.cur.vals[0].null {
			rn.cur.phase = phaseNull
		}
	}
	return nil
}
