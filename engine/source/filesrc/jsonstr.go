package filesrc

import "encoding/binary"

// plain marks the bytes a JSON string holds as they are. Bytes from 0x80
// up are parts of UTF-8 sequences, already checked valid.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const hexDigits = "0123456789abcdef"

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special8 reports whether any of eight bytes needs escaping: below
// 0x20, '"' or '\\' (the classic "has a zero / less-than byte" tricks,
// exact about whether such a byte exists).
func special8(v uint64) bool {
	less := (v - ones*0x20) & ^v
	q := v ^ (ones * '"')
	b := v ^ (ones * '\\')
	return (less|(q-ones)&^q|(b-ones)&^b)&highs != 0
}

// appendString appends s as a JSON string. It copies runs of plain bytes
// at once and escapes the rest; s must be valid UTF-8.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		// Skip eight plain bytes at a time.
		for i+8 <= len(s) && !special8(binary.LittleEndian.Uint64(s[i:])) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if plain[c] {
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
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
