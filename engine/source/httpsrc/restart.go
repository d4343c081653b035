package httpsrc

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// restartSpec restarts a query that the server caps at a number of
// results (HubSpot search: 10,000) from the newest watermark seen.
type restartSpec struct {
	after  int
	path   string // gjson path of the sort field in each record
	format string // incremental.format, applied to time values
}

// restartState tracks one read. Restarting at the newest value with a
// ">=" filter brings back the records that share that value; they are
// remembered by hash and dropped when they come again. The query must
// sort ascending on the restart field.
type restartState struct {
	spec     *restartSpec
	seed     maphash.Seed
	inQuery  int      // records the current query returned
	newest   wmValue  // newest value seen
	boundary hashSet  // records whose value equals newest
	from     *wmValue // the value the current query restarted at
	fromSeen hashSet  // records with value == from seen before this query
}

type hashSet map[uint64]struct{}

func newRestartState(s *restartSpec) *restartState {
	return &restartState{spec: s, seed: maphash.MakeSeed(), boundary: hashSet{}}
}

// filter drops records that a restart brought back, and tracks the
// newest watermark. It reuses recs' array.
func (rs *restartState) filter(recs []source.Record) []source.Record {
	rs.inQuery += len(recs)
	out := recs[:0]
	for _, r := range recs {
		v, ok := parseWM(gjson.Get(r.JSON, rs.spec.path))
		if !ok {
			out = append(out, r)
			continue
		}
		h := maphash.String(rs.seed, r.JSON)
		if rs.from != nil {
			// The query before this one returned, in order, every record
			// up to from: older ones (a watermark format coarser than the
			// field) and the ones at from it gave are repeats.
			c := v.cmp(*rs.from)
			if c < 0 {
				continue
			}
			if _, dup := rs.fromSeen[h]; dup && c == 0 {
				continue
			}
		}
		switch c := v.cmp(rs.newest); {
		case !rs.newest.set || c > 0:
			rs.newest = v
			rs.boundary = hashSet{h: {}}
		case c == 0:
			rs.boundary[h] = struct{}{}
		}
		out = append(out, r)
	}
	return out
}

// due reports whether the query has returned as many records as the
// server will give it.
func (rs *restartState) due() bool { return rs.inQuery >= rs.spec.after }

// restart starts a new query and returns its watermark.
func (rs *restartState) restart() (string, error) {
	if !rs.newest.set {
		return "", fmt.Errorf("the query reached restart_after (%d records) but no record had a value at restart_watermark %q", rs.spec.after, rs.spec.path)
	}
	if rs.from != nil && rs.newest.cmp(*rs.from) == 0 {
		return "", fmt.Errorf("more than %d records share %s = %q: restarting the query from it cannot get past them", rs.spec.after, rs.spec.path, rs.newest.raw)
	}
	from := rs.newest
	rs.from, rs.fromSeen, rs.inQuery = &from, rs.boundary, 0
	return from.format(rs.spec.format), nil
}

// wmValue is a watermark read from a record: a number, a time or text.
type wmValue struct {
	set  bool
	raw  string
	num  float64
	t    time.Time
	kind int // 0 text, 1 number, 2 time
}

func parseWM(r gjson.Result) (wmValue, bool) {
	if !r.Exists() || r.Type == gjson.Null {
		return wmValue{}, false
	}
	v := wmValue{set: true, raw: r.String()}
	if v.raw == "" {
		return wmValue{}, false
	}
	if f, err := strconv.ParseFloat(v.raw, 64); err == nil {
		v.num, v.kind = f, 1
	} else if t, err := time.Parse(time.RFC3339Nano, v.raw); err == nil {
		v.t, v.kind = t, 2
	}
	return v, true
}

func (v wmValue) cmp(o wmValue) int {
	switch {
	case v.kind == 1 && o.kind == 1:
		return cmp.Compare(v.num, o.num)
	case v.kind == 2 && o.kind == 2:
		return v.t.Compare(o.t)
	}
	return cmp.Compare(v.raw, o.raw)
}

// format writes a time in the entity's watermark format; numbers and
// text go as the record had them.
func (v wmValue) format(f string) string {
	if v.kind == 2 {
		if s, err := source.FormatTime(v.t, f); err == nil {
			return s
		}
	}
	return v.raw
}
