package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzAppendString: the output is valid JSON that decodes to the input
// (with invalid UTF-8 replaced), as encoding/json would.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text", "quote\" back\\slash", "tab\tnl\ncr\r\x00\x1f", "José Müller", "\xff\xfe bad", "12345678\"12345678", strings.Repeat("é", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q gave invalid JSON %s: %v", s, out, err)
		}
		want, _ := json.Marshal(s) // encoding/json also replaces invalid UTF-8
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q round-trips to %q, want %q", s, back, wantBack)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := []byte("Ana María García-López, 1234 Main Street, Suite 500, San Francisco")
	var buf []byte
	b.SetBytes(int64(len(s)))
	for i := 0; i < b.N; i++ {
		buf = AppendString(buf[:0], s)
	}
}

// TestSpecial8: the eight-byte test flags exactly the bytes that need a look.
func TestSpecial8(t *testing.T) {
	for _, fill := range []byte{'a', 0x7f, ' '} {
		for c := range 256 {
			for pos := range 8 {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				v := uint64(0)
				for i := 7; i >= 0; i-- {
					v = v<<8 | uint64(w[i])
				}
				if got, want := special8(v), !(c >= 0x20 && c < 0x80 && c != '"' && c != '\\'); got != want {
					t.Fatalf("byte %#x at %d among %#x: special8 %v, want %v", c, pos, fill, got, want)
				}
			}
		}
	}
}
