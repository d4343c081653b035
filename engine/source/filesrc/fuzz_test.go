package filesrc

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"unicode/utf8"
)

// FuzzCSV: any bytes give valid JSON objects or rejects, never a panic,
// with rows that only go forward.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a\r\"x\r\ny\"\r", "\ufeffa;b\n\"1\"\"\";\n", "a,b\n\"x\"y,z\n", "\xff\xfea\x00,\x00b\x00", "#c\na\n\n\n1"} {
		f.Add([]byte(s), byte(','), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, delim byte, noHeader bool) {
		if delim == '"' || delim == '#' || delim == '\r' || delim == '\n' || delim >= 0x80 {
			delim = ','
		}
		fm, probs := compileFormat(spec(".", SourceConfig{Path: "f.csv", CSV: &CSVFormat{
			Delimiter: string([]byte{delim}), Comment: "#", Header: ptr(!noHeader)}}, EntityConfig{}, 10))
		if len(probs) > 0 {
			t.Fatalf("problems %v", probs)
		}
		dec, err := fm.open(bytes.NewReader(data), "f.csv", Position{})
		if err != nil {
			return
		}
		last := 0
		for range len(data) + 2 {
			out, row, rej, err := dec.next(nil)
			if err == io.EOF {
				return
			}
			if err != nil {
				return
			}
			if row < last {
				t.Fatalf("row %d after %d", row, last)
			}
			last = row
			if rej == nil && (!json.Valid(out) || out[0] != '{') {
				t.Fatalf("invalid record %q", out)
			}
			if rej != nil && !utf8.ValidString(rej.Raw) {
				t.Fatalf("reject raw is not UTF-8: %q", rej.Raw)
			}
		}
		t.Fatal("more records than bytes")
	})
}

// FuzzAppendString: the escaper round-trips every valid UTF-8 string.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x1f\x7f", "é😀\u2028", "\r\n\t\b\f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		out := appendString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != s {
			t.Fatalf("%q → %s → %q, %v", s, out, back, err)
		}
	})
}

// TestSpecial8 checks the eight-byte test against the byte table, for
// every byte value at every position, among plain and high bytes.
