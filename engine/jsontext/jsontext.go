// Package jsontext writes JSON text fast, for the sources that turn rows
// (CSV lines, SQL rows) into JSON records.
package jsontext

import (
	"encoding/binary"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special8 reports whether any of eight bytes needs a closer look: below
// 0x20, '"', '\\' or from 0x80 up (part of a UTF-8 sequence).
func special8(v uint64) bool {
	less := (v - ones*0x20) & ^v
	q := v ^ (ones * '"')
	b := v ^ (ones * '\\')
	return (less|(q-ones)&^q|(b-ones)&^b|v)&highs != 0
}

// AppendString appends s as a JSON string, as encoding/json would write
// it without HTML escaping: control characters escaped, bytes that are
// not UTF-8 replaced by U+FFFD. Runs of plain bytes are copied at once.
func AppendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		for i+8 <= len(s) && !special8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
