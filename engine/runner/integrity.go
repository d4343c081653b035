package runner

import (
	"bytes"
	"fmt"
	"hash/maphash"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/crmsync/crmsync/engine/value"
)

// rawOf is the raw text a kept record stores in _raw. Text jsonb cannot
// hold (\u0000, a lone surrogate, a NUL byte, bytes that are not UTF-8)
// rejects the record, naming _raw and the offset — unless the entity
// strips poison from a field, when it is cleaned the same way.
func (s *syncer) rawOf(proc *transform.Processor, rec source.Record, out *transform.Output) string {
	msg := transform.PoisonJSON(rec.JSON)
	if msg == "" {
		return rec.JSON
	}
	if s.e.Program.StripsPoison() {
		return transform.StripJSON(rec.JSON)
	}
	out.Outcome = transform.Rejected
	out.ProcessingErrors++
	s.r.ProcessingErrors++
	out.ID = proc.RecordID(out.Values)
	out.Reasons = append(out.Reasons, transform.PoisonReason("_raw", msg))
	s.log.Error(s.plan.Redact(fmt.Sprintf("Rejected %s %s record %s: %s", s.plan.Name, s.e.Name, idText(out.ID), out.Reasons[len(out.Reasons)-1])))
	return ""
}

func idText(id string) string {
	if id == "" {
		return "UNKNOWN"
	}
	return id
}

// recordReject makes the rejects row of a source record. A record read
// from a file says where: every reason starts with file:line, and a
// record without a key is named by it.
func (s *syncer) recordReject(rec source.Record, id string, reasons []string) sink.Reject {
	if rec.File == "" {
		return s.reject(id, reasons, rec.JSON)
	}
	at := fmt.Sprintf("%s:%d", rec.File, rec.Row)
	rs := make([]string, len(reasons))
	for i, r := range reasons {
		rs[i] = at + ": " + r
	}
	if id == "" {
		id = at
	}
	return s.reject(id, rs, rec.JSON)
}

// fold looks the key of the row just processed (at slab index i) up
// among the batch's rows. When it is there, the new values replace the
// old row's, in its place (the last one wins), the old row's children
// are dropped, and fold returns that row's values: the sink sees each key
// once per batch, and the runner counts the duplicate.
func (b *batcher) fold(s *syncer, i, ncol int, raw string) ([]any, bool) {
	if b.keys == nil {
		return nil, false
	}
	vals := b.slab[i*ncol : (i+1)*ncol]
	b.kbuf = appendKey(b.kbuf[:0], vals, b.keyIdx)
	j, dup := b.lookup()
	if !dup {
		return nil, false
	}
	row := b.rows[j].Values
	copy(row, vals)
	clear(vals)
	b.rows[j].Raw = raw
	for c := range b.children {
		cr := &b.children[c]
		pidx := s.e.Children[c].ParentIdx
		want := string(appendKey(nil, row, pidx))
		kept := cr.Rows[:0]
		for _, r := range cr.Rows {
			if string(appendKey(nil, r.Values, seq(len(pidx)))) != want {
				kept = append(kept, r)
			}
		}
		cr.Rows = kept
	}
	return row, true
}

// lookup finds the row whose key is b.kbuf, or notes the row about to
// be appended under it. Keys are kept by hash (no allocation per row); a
// hash shared by two keys sends the second to a map by text.
func (b *batcher) lookup() (int, bool) {
	h := maphash.Bytes(keySeed, b.kbuf)
	j, ok := b.keys[h]
	if !ok {
		b.keys[h] = len(b.rows)
		return 0, false
	}
	b.kcmp = appendKey(b.kcmp[:0], b.rows[j].Values, b.keyIdx)
	if bytes.Equal(b.kcmp, b.kbuf) {
		return j, true
	}
	if b.collided == nil {
		b.collided = map[string]int{}
	}
	if j, ok := b.collided[string(b.kbuf)]; ok {
		return j, true
	}
	b.collided[string(b.kbuf)] = len(b.rows)
	return 0, false
}

var keySeed = maphash.MakeSeed()

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// appendKey encodes the values at idx, type-tagged, as a map key; values
// equal as stored keys encode the same (times to the microsecond, as
// PostgreSQL keeps them).
func appendKey(b []byte, vals []any, idx []int) []byte {
	for _, j := range idx {
		b = value.AppendKey(b, vals[j])
	}
	return b
}
