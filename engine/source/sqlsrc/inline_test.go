package sqlsrc

import "testing"

// TestInlineInts: whole numbers and NULLs become literals in place of
// each ? (never a ? inside the author's string literal); any other
// value keeps the statement prepared.
func TestInlineInts(t *testing.T) {
	text := func(parts ...string) sqlText {
		var s sqlText
		for _, p := range parts {
			if p[0] == ':' {
				s.param(p[1:])
			} else {
				s.add(p)
			}
		}
		return s
	}
	for _, tc := range []struct {
		name string
		d    *dialect
		t    sqlText
		args []any
		want string
		ok   bool
	}{
		{"key cursor", mysql, text("SELECT a FROM t WHERE notes <> '?' AND id > ", ":c0", " ORDER BY id LIMIT 5001"), []any{int64(5000)},
			"SELECT a FROM t WHERE notes <> '?' AND id > 5000 ORDER BY id LIMIT 5001", true},
		{"null and negative", mysql, text("SELECT a FROM t WHERE (", ":lo", " IS NULL OR id >= ", ":lo", ") AND id-", ":c0"), []any{nil, nil, int64(-7)},
			"SELECT a FROM t WHERE (NULL IS NULL OR id >= NULL) AND id-(-7)", true},
		{"a text value stays bound", mysql, text("SELECT a FROM t WHERE u > ", ":c0", " AND id > ", ":c1"), []any{"2024-01-01 00:00:00", int64(1)}, "", false},
		{"no parameters", mysql, text("SELECT a FROM t"), nil, "", false},
		{"postgres binds", postgres, text("SELECT a FROM t WHERE id > ", ":c0"), []any{int64(1)}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := inlineInts(tc.d, tc.t, tc.args)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("inlineInts = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
