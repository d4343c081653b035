package postgres

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"strings"

	"github.com/crmsync/crmsync/engine/sink"
)

// span is a byte range of encoded.buf.
type span struct{ from, to int32 }

const hashLen = 16 // bytes of SHA-256 kept as _row_hash

// copyHeader starts every binary COPY stream.
var copyHeader = []byte("PGCOPY\n\377\r\n\000\000\000\000\000\000\000\000\000")

// encoded is a batch turned into COPY tuples once, before the transaction
// starts. Duplicate keys keep the place of their first row and the values
// of their last. The buffers are reused across batches.
type encoded struct {
	buf   []byte  // copyHeader, then one tuple per input row
	rows  []span  // tuples kept, in order
	src   []int32 // per kept row, its index in input
	input []sink.Row
	p     *plan
	keys  []span // per kept row, the encoded fields of its primary key
	// index finds a kept row by the maphash of its key's fields (no
	// string per row); keys whose hash another key has go by their bytes
	// in collided.
	index    map[uint64]int32
	collided map[string]int32
	kbuf     []byte
	out      []byte // a COPY stream of selected tuples
	state    []uint8
}

// encodedFree keeps a few encodings for reuse. It is a channel, not a
// sync.Pool: a pool is emptied by every second GC, and a load collects
// garbage more often than it writes batches, so most batches grew a new
// buffer from nothing (runtime.growslice was a quarter of encode's CPU).
// A batch being written, the next one being encoded and the children of
// both fit.
var encodedFree = make(chan *encoded, 4)

func getEncoded() *encoded {
	select {
	case e := <-encodedFree:
		return e
	default:
		return &encoded{index: map[uint64]int32{}}
	}
}

func putEncoded(e *encoded) {
	e.input, e.p = nil, nil
	if cap(e.buf) > 64<<20 { // let a freak batch go rather than keep it
		return
	}
	select {
	case encodedFree <- e:
	default:
	}
}

// encode turns rows into tuples for p. Rows of keyed tables are deduplicated
// and hashed: the hash covers the declared values and _raw, exactly as
// PostgreSQL will store them.
func (e *encoded) encode(p *plan, rows []sink.Row, syncID int64) error {
	e.buf = append(e.buf[:0], copyHeader...)
	e.rows, e.keys, e.src = e.rows[:0], e.keys[:0], e.src[:0]
	e.input, e.p = rows, p
	clear(e.index)
	clear(e.collided)
	npk := len(p.pk)
	for i := range rows {
		r := &rows[i]
		if len(r.Values) != len(p.cols) {
			return fmt.Errorf("row %d has %d values for %d columns", i+1, len(r.Values), len(p.cols))
		}
		start := len(e.buf)
		e.buf = binary.BigEndian.AppendUint16(e.buf, p.nfields)
		kstart := len(e.keys)
		for j := range p.cols {
			c := &p.cols[j]
			at := len(e.buf)
			var err error
			if e.buf, err = c.enc(e.buf, r.Values[j]); err != nil {
				return fmt.Errorf("row %d%s: column %q (%s): %w", i+1, p.recordHint(r), c.name, c.typ, err)
			}
			if npk > 0 {
				for _, k := range p.pk {
					if k == j {
						if int32(binary.BigEndian.Uint32(e.buf[at:])) < 0 {
							return fmt.Errorf("row %d%s: primary key column %q is null", i+1, p.recordHint(r), c.name)
						}
						e.keys = append(e.keys, span{int32(at), int32(len(e.buf))})
					}
				}
			}
		}
		if p.keepRaw {
			e.buf, _ = encodeJSONBString(e.buf, r.Raw)
		}
		if p.keyed {
			h := sha256.Sum256(e.buf[start+2:])
			e.buf = append(appendLen(e.buf, hashLen), h[:hashLen]...)
		}
		e.buf = binary.BigEndian.AppendUint64(appendLen(e.buf, 8), uint64(syncID))
		tuple := span{int32(start), int32(len(e.buf))}
		if npk == 0 {
			e.rows = append(e.rows, tuple)
			e.src = append(e.src, int32(i))
			continue
		}
		// Keys in pk order (the spans were recorded in column order).
		ks := e.keys[kstart:]
		if npk > 1 {
			ordered := make([]span, npk)
			for n, k := range p.pk {
				ordered[n] = ks[rank(p.pk, k)]
			}
			copy(ks, ordered)
		}
		e.kbuf = e.kbuf[:0]
		for _, s := range ks {
			e.kbuf = append(e.kbuf, e.buf[s.from:s.to]...)
		}
		h := keyHash(e.kbuf)
		at, dup := e.index[h]
		switch {
		case dup && !e.keyIs(int(at), npk):
			if e.collided == nil {
				e.collided = map[string]int32{}
			}
			if at, dup = e.collided[string(e.kbuf)]; !dup {
				e.collided[string(e.kbuf)] = int32(len(e.rows))
			}
		case !dup:
			e.index[h] = int32(len(e.rows))
		}
		if dup {
			e.rows[at] = tuple // the last one wins, in the first one's place
			e.src[at] = int32(i)
			copy(e.keys[int(at)*npk:], ks)
			e.keys = e.keys[:kstart]
			continue
		}
		e.rows = append(e.rows, tuple)
		e.src = append(e.src, int32(i))
	}
	return nil
}

var keySeed = maphash.MakeSeed()

// keyHash is the index's hash of a key (a variable so a test can make
// every key collide).
var keyHash = func(k []byte) uint64 { return maphash.Bytes(keySeed, k) }

// keyIs reports whether kept row at has the key in e.kbuf.
func (e *encoded) keyIs(at, npk int) bool {
	k := e.kbuf
	for _, s := range e.keys[at*npk : (at+1)*npk] {
		f := e.buf[s.from:s.to]
		if len(k) < len(f) || !bytes.Equal(k[:len(f)], f) {
			return false
		}
		k = k[len(f):]
	}
	return len(k) == 0
}

// rank is the position of column k among the key columns sorted by
// column position (the order encode records them in).
func rank(pk []int, k int) int {
	r := 0
	for _, o := range pk {
		if o < k {
			r++
		}
	}
	return r
}

// hash is the stored _row_hash of kept row i.
func (e *encoded) hash(i int) []byte {
	end := int(e.rows[i].to) - 12 // _sync_id field
	return e.buf[end-hashLen : end]
}

// stream builds a COPY stream of the kept rows whose state is want (all
// rows when all is true).
func (e *encoded) stream(want uint8, all bool) []byte {
	if all && len(e.rows) > 0 && int(e.rows[len(e.rows)-1].to) == len(e.buf) && len(e.rows) == e.contiguous() {
		return binary.BigEndian.AppendUint16(e.buf, 0xFFFF)
	}
	e.out = append(e.out[:0], copyHeader...)
	for i, r := range e.rows {
		if all || e.state[i] == want {
			e.out = append(e.out, e.buf[r.from:r.to]...)
		}
	}
	return binary.BigEndian.AppendUint16(e.out, 0xFFFF)
}

// describe names the record on line (1-based) of a stream built by
// stream(want, all), for COPY errors.
func (e *encoded) describe(want uint8, all bool, line int) string {
	for i := range e.rows {
		if all || e.state[i] == want {
			if line--; line == 0 {
				n := int(e.src[i])
				return fmt.Sprintf("row %d%s", n+1, e.p.recordHint(&e.input[n]))
			}
		}
	}
	return ""
}

// contiguous counts the kept rows when they follow each other in buf with
// nothing dropped (no duplicates), so buf itself is the stream.
func (e *encoded) contiguous() int {
	at := int32(len(copyHeader))
	for _, r := range e.rows {
		if r.from != at {
			return -1
		}
		at = r.to
	}
	return len(e.rows)
}

// keyArrays builds one binary array parameter per key column from the
// encoded key fields of the kept rows (fields and array elements share
// one format).
func (e *encoded) keyArrays(oids []uint32, dst [][]byte) [][]byte {
	n := len(oids)
	dst = dst[:0]
	for j := 0; j < n; j++ {
		size := 20
		for i := range e.rows {
			s := e.keys[i*n+j]
			size += int(s.to - s.from)
		}
		a := make([]byte, 0, size)
		a = arrayHeader(a, oids[j], len(e.rows))
		for i := range e.rows {
			s := e.keys[i*n+j]
			a = append(a, e.buf[s.from:s.to]...)
		}
		dst = append(dst, a)
	}
	return dst
}

// arrayHeader starts a one-dimensional binary array of n elements whose
// element type is that of array type oid.
func arrayHeader(a []byte, arrayOID uint32, n int) []byte {
	a = binary.BigEndian.AppendUint32(a, 1) // dimensions
	a = binary.BigEndian.AppendUint32(a, 0) // no nulls
	a = binary.BigEndian.AppendUint32(a, elemOID[arrayOID])
	a = binary.BigEndian.AppendUint32(a, uint32(n))
	return binary.BigEndian.AppendUint32(a, 1) // lower bound
}

var elemOID = map[uint32]uint32{
	oidBoolArray: oidBool, oidTextArray: oidText, oidInt8Array: oidInt8, oidFloat8Array: oidFloat8,
	oidDateArray: oidDate, oidTimestamptzArray: oidTimestamptz, oidNumericArray: oidNumeric, oidJSONBArray: oidJSONB,
}

// recordHint names a row by its primary key for error messages.
func (p *plan) recordHint(r *sink.Row) string {
	if len(p.pk) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(" (")
	for n, k := range p.pk {
		if n > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%v", p.cols[k].name, r.Values[k])
	}
	b.WriteString(")")
	return b.String()
}
