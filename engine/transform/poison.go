package transform

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Poison values are text no destination can store as given: a NUL byte
// (PostgreSQL text and jsonb refuse it), bytes that are not UTF-8, and in
// JSON text the escapes \u0000 and a lone UTF-16 surrogate (\ud800),
// which jsonb refuses. Left alone, one such value fails the whole batch,
// and every rerun stops at the same record; the record path finds them
// first and rejects the record, naming the field and the byte offset, or
// — for a field set to poison: strip — cleans the value.
//
// The check is a byte scan that allocates nothing for clean text.

// PoisonText returns a description of the first poison byte of s ("NUL
// byte at offset 12"), or "" when s is clean. Plain ASCII is skipped
// eight bytes at a time.
func PoisonText(s string) string {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		v := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		if ((v-lows)&^v|v)&highs != 0 {
			break // a zero byte, or one from 0x80 up
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return poisonFrom(s, i)
		}
	}
	return ""
}

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// poisonFrom finishes PoisonText from offset i, the first byte that is
// NUL or not ASCII.
func poisonFrom(s string, i int) string {
	for i < len(s) {
		c := s[i]
		if c == 0 {
			return fmt.Sprintf("NUL byte at offset %d", i)
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return fmt.Sprintf("invalid UTF-8 at offset %d", i)
		}
		i += n
	}
	return ""
}

// PoisonJSON is PoisonText for JSON text, which also may not hold the
// escapes \u0000 or an unpaired surrogate.
func PoisonJSON(s string) string {
	if msg := PoisonText(s); msg != "" {
		return msg
	}
	for i := strings.IndexByte(s, '\\'); i >= 0; {
		if i+1 >= len(s) {
			break
		}
		if s[i+1] != 'u' {
			i += 2 // \\, \", \n, …
		} else {
			if msg := badEscape(s, i); msg != "" {
				return msg
			}
			i += 6
		}
		if i >= len(s) {
			break
		}
		j := strings.IndexByte(s[i:], '\\')
		if j < 0 {
			break
		}
		i += j
	}
	return ""
}

// badEscape looks at the \u escape at s[i:].
func badEscape(s string, i int) string {
	r, ok := hex4(s, i+2)
	if !ok {
		return ""
	}
	switch {
	case r == 0:
		return fmt.Sprintf("escaped NUL (\\u0000) at offset %d", i)
	case r >= 0xD800 && r < 0xDC00:
		if lo, ok := hex4(s, i+8); ok && i+7 < len(s) && s[i+6] == '\\' && s[i+7] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
			return ""
		}
		return fmt.Sprintf("unpaired surrogate (\\u%04x) at offset %d", r, i)
	case r >= 0xDC00 && r < 0xE000:
		if i >= 6 && s[i-6] == '\\' && s[i-5] == 'u' {
			if hi, ok := hex4(s, i-4); ok && hi >= 0xD800 && hi < 0xDC00 {
				return ""
			}
		}
		return fmt.Sprintf("unpaired surrogate (\\u%04x) at offset %d", r, i)
	}
	return ""
}

func hex4(s string, at int) (rune, bool) {
	if at+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[at : at+4]) {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// StripText removes NUL bytes and replaces bytes that are not UTF-8 by
// U+FFFD. It returns s itself when s is clean.
func StripText(s string) string {
	if PoisonText(s) == "" {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// StripJSON is StripText for JSON text: the escape \u0000 is removed and a
// lone surrogate becomes \ufffd.
func StripJSON(s string) string {
	if PoisonJSON(s) == "" {
		return s
	}
	s = StripText(s)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] != 'u' {
			b.WriteString(s[i : i+2])
			i++
			continue
		}
		r, ok := hex4(s, i+2)
		if !ok {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case r == 0:
		case utf16.IsSurrogate(r) && badEscape(s, i) != "":
			b.WriteString(`\ufffd`)
		default:
			b.WriteString(s[i : i+6])
		}
		i += 5
	}
	return b.String()
}

// poisonIn describes the first poison in a converted value, or "".
func poisonIn(v any) string {
	switch x := v.(type) {
	case string:
		return PoisonText(x)
	case []string:
		for n, s := range x {
			if msg := PoisonText(s); msg != "" {
				return fmt.Sprintf("element %d: %s", n, msg)
			}
		}
	case json.RawMessage:
		return PoisonJSON(string(x))
	}
	return ""
}

// stripValue cleans a converted value (poison: strip).
func stripValue(v any) any {
	switch x := v.(type) {
	case string:
		return StripText(x)
	case []string:
		var out []string
		for n, s := range x {
			if c := StripText(s); c != s {
				if out == nil {
					out = append([]string(nil), x...)
				}
				out[n] = c
			}
		}
		if out != nil {
			return out
		}
	case json.RawMessage:
		if c := StripJSON(string(x)); len(c) != len(x) || c != string(x) {
			return json.RawMessage(c)
		}
	}
	return v
}

// PoisonReason is the reject reason for a poison value in field name.
func PoisonReason(name, msg string) string {
	return fmt.Sprintf("field %q: %s", name, msg)
}
