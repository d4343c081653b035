package sqlsrc

import (
	"encoding/hex"
	"github.com/crmsync/crmsync/engine/jsontext"
	"strconv"
	"time"
)

// kind is how a column's text reaches JSON. Both drivers hand over
// every value as text (postgres in the text result format, mysql
// through sql.RawBytes), so a kind only says how to write that text.
type kind uint8

const (
	kString  kind = iota // JSON string; invalid UTF-8 becomes U+FFFD
	kInt                 // the text is a JSON number
	kNumber              // decimal or float: a JSON number with the exact text; NaN and Infinity as strings
	kBool                // postgres t / f
	kTime                // naive timestamp in the source time zone → RFC 3339 UTC
	kTimeUTC             // naive timestamp known to be UTC (mysql TIMESTAMP, session in UTC)
	kTimeTZ              // timestamp with an offset (postgres timestamptz) → RFC 3339 UTC
	kDate                // YYYY-MM-DD as a string; the zero date is null
	kJSON                // embedded as is
	kBytea               // postgres bytea text (\x…hex) → string of the bytes
	kBit                 // mysql BIT: big-endian unsigned number
)

// appendValue writes one non-NULL value as JSON.
func appendValue(buf []byte, k kind, v []byte, tz *time.Location, scratch *[]byte) []byte {
	switch k {
	case kInt:
		if len(v) > 0 {
			return append(buf, v...)
		}
	case kNumber:
		if isJSONNumber(v) {
			return append(buf, v...)
		}
	case kBool:
		if len(v) == 1 && v[0] == 't' {
			return append(buf, "true"...)
		}
		if len(v) == 1 && v[0] == 'f' {
			return append(buf, "false"...)
		}
	case kTime, kTimeUTC, kTimeTZ:
		loc := tz
		if k != kTime {
			loc = time.UTC
		}
		t, zero, ok := parseTimestamp(v, loc)
		if zero {
			return append(buf, "null"...)
		}
		if ok {
			buf = append(buf, '"')
			buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
			return append(buf, '"')
		}
	case kDate:
		if isZeroDate(v) {
			return append(buf, "null"...)
		}
	case kJSON:
		if len(v) > 0 {
			return append(buf, v...)
		}
		return append(buf, "null"...)
	case kBytea:
		if len(v) >= 2 && v[0] == '\\' && v[1] == 'x' {
			b := (*scratch)[:0]
			if n := hex.DecodedLen(len(v) - 2); cap(b) < n {
				b = make([]byte, n)
			} else {
				b = b[:n]
			}
			if _, err := hex.Decode(b, v[2:]); err == nil {
				*scratch = b
				return appendString(buf, b)
			}
		}
	case kBit:
		var n uint64
		for _, c := range v {
			n = n<<8 | uint64(c)
		}
		return strconv.AppendUint(buf, n, 10)
	}
	return appendString(buf, v)
}

// isJSONNumber accepts the numbers databases print: -?digits[.digits][e±digits].
func isJSONNumber(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	if i >= len(v) || !isDigit(v[i]) {
		return false
	}
	if v[i] == '0' && i+1 < len(v) && isDigit(v[i+1]) {
		return false
	}
	for i < len(v) && isDigit(v[i]) {
		i++
	}
	if i < len(v) && v[i] == '.' {
		i++
		if i >= len(v) || !isDigit(v[i]) {
			return false
		}
		for i < len(v) && isDigit(v[i]) {
			i++
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if i >= len(v) || !isDigit(v[i]) {
			return false
		}
		for i < len(v) && isDigit(v[i]) {
			i++
		}
	}
	return i == len(v)
}

// appendString writes s as a JSON string; bytes that are not UTF-8
// become U+FFFD, as encoding/json does.
func appendString(buf []byte, s []byte) []byte { return jsontext.AppendString(buf, s) }

// parseTimestamp reads YYYY-MM-DD[ T]HH:MM:SS[.fraction][±HH[:MM[:SS]]|Z]
// as databases print it. A value without an offset is a wall clock in
// loc. zero reports MySQL's zero date; ok is false for anything else
// (infinity, BC, years past 9999), which is then written as a string.
func parseTimestamp(v []byte, loc *time.Location) (t time.Time, zero, ok bool) {
	if len(v) < 19 || v[4] != '-' || v[7] != '-' || (v[10] != ' ' && v[10] != 'T') || v[13] != ':' || v[16] != ':' {
		return t, false, false
	}
	y, ok1 := digits(v[0:4])
	mo, ok2 := digits(v[5:7])
	d, ok3 := digits(v[8:10])
	h, ok4 := digits(v[11:13])
	mi, ok5 := digits(v[14:16])
	s, ok6 := digits(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return t, false, false
	}
	if y == 0 && mo == 0 && d == 0 {
		return t, true, false
	}
	i, ns := 19, 0
	if i < len(v) && v[i] == '.' {
		i++
		scale := 100000000
		for i < len(v) && isDigit(v[i]) {
			ns += int(v[i]-'0') * scale
			scale /= 10
			i++
		}
	}
	off, hasOff := 0, false
	if i < len(v) {
		switch v[i] {
		case 'Z':
			hasOff = true
			i++
		case '+', '-':
			sign := 1
			if v[i] == '-' {
				sign = -1
			}
			i++
			parts := 0
			for parts < 3 && i+2 <= len(v) {
				n, ok := digits(v[i : i+2])
				if !ok {
					return t, false, false
				}
				off = off*60 + n
				parts++
				i += 2
				if i < len(v) && v[i] == ':' {
					i++
				} else {
					break
				}
			}
			for ; parts < 3; parts++ {
				off *= 60
			}
			off *= sign
			hasOff = true
		}
	}
	if i != len(v) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return t, false, false
	}
	if hasOff {
		loc = time.UTC
	}
	t = time.Date(y, time.Month(mo), d, h, mi, s, ns, loc)
	if t.Day() != d {
		return t, false, false // February 30th and friends
	}
	if hasOff {
		t = t.Add(-time.Duration(off) * time.Second)
	}
	return t, false, true
}

func isZeroDate(v []byte) bool {
	return len(v) >= 10 && string(v[:10]) == "0000-00-00"
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
