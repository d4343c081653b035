package sqlsrc

import (
	"slices"
	"strings"
	"testing"
)

// TestRewritePlaceholders: named placeholders become $n (one number per
// name) on postgres and ? per occurrence on mysql; look-alikes in
// strings, names, comments and casts stay as written.
func TestRewritePlaceholders(t *testing.T) {
	cases := []struct {
		d         *dialect
		in, out   string
		names     []string
		wantIssue bool
	}{
		{postgres, "SELECT * FROM t WHERE a >= :watermark AND b < :window_end OR c >= :watermark",
			"SELECT * FROM t WHERE a >= $1 AND b < $2 OR c >= $1", []string{"watermark", "window_end"}, false},
		{mysql, "SELECT * FROM t WHERE a >= :watermark AND b < :window_end OR c >= :watermark",
			"SELECT * FROM t WHERE a >= ? AND b < ? OR c >= ?", []string{"watermark", "window_end", "watermark"}, false},
		{postgres, "SELECT x::timestamp, ':watermark', \":watermark\" FROM t -- :watermark\nWHERE u >= :window_start::date",
			"SELECT x::timestamp, ':watermark', \":watermark\" FROM t -- :watermark\nWHERE u >= $1::date", []string{"window_start"}, false},
		{postgres, "SELECT $q$ it's :watermark $q$, $$:watermark$$, E'\\':watermark' FROM t WHERE a=:watermark",
			"SELECT $q$ it's :watermark $q$, $$:watermark$$, E'\\':watermark' FROM t WHERE a=$1", []string{"watermark"}, false},
		{postgres, "SELECT a$b, 'x''y:watermark' FROM t /* /* :watermark */ :watermark */ WHERE a = :watermark;  ",
			"SELECT a$b, 'x''y:watermark' FROM t /* /* :watermark */ :watermark */ WHERE a = $1", []string{"watermark"}, false},
		{mysql, "SELECT 'a\\':watermark', \"b\\\":watermark\", `c:watermark` FROM t # :watermark\nWHERE a = :watermark -- :x\n",
			"SELECT 'a\\':watermark', \"b\\\":watermark\", `c:watermark` FROM t # :watermark\nWHERE a = ? -- :x\n", []string{"watermark"}, false},
		// -- without a space after it is not a comment in MySQL: 1 - -?
		{mysql, "SELECT 1--:watermark\n", "SELECT 1--?\n", []string{"watermark"}, false},
		{postgres, "SELECT 1--:watermark\n", "SELECT 1--:watermark\n", nil, false},
		{postgres, "SELECT * FROM t WHERE a = $1", "", nil, true},
		{postgres, "SELECT 'open", "", nil, true},
		{postgres, "SELECT 1 /* open", "", nil, true},
		{postgres, "SELECT $x$ open", "", nil, true},
	}
	for _, c := range cases {
		text, issues := c.d.scan(c.in, true, "query")
		if c.wantIssue {
			if len(issues) == 0 {
				t.Errorf("%s %q: no issue found", c.d.name, c.in)
			}
			continue
		}
		if len(issues) > 0 {
			t.Errorf("%s %q: issues %v", c.d.name, c.in, issues)
			continue
		}
		out, names := c.d.render(text)
		if out != c.out || !slices.Equal(names, c.names) {
			t.Errorf("%s %q:\n got %q %v\nwant %q %v", c.d.name, c.in, out, names, c.out, c.names)
		}
	}
}

func TestFirstWord(t *testing.T) {
	for in, want := range map[string]string{
		"  -- note\n/* x */ ((WITH a AS (SELECT 1) SELECT * FROM a))": "with",
		"select 1": "select",
		"DELETE":   "delete",
		"":         "",
	} {
		if got := postgres.firstWord(in); got != want {
			t.Errorf("firstWord(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzScan: the scanner never panics, and its pieces give back the input
// (up to a dropped trailing semicolon) when it reports nothing.
func FuzzScan(f *testing.F) {
	for _, s := range []string{"SELECT :watermark", "a::b :window_end 'x:y' -- :z\n", "$a$ :x $a$ $1 ?", "`q` \"r\" # s\n /* /* */ */;  "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, d := range []*dialect{postgres, mysql} {
			text, issues := d.scan(in, true, "query")
			if len(issues) > 0 {
				continue
			}
			var b strings.Builder
			for _, p := range text {
				if p.param != "" {
					b.WriteString(":" + p.param)
				} else {
					b.WriteString(p.text)
				}
			}
			got := b.String()
			if !strings.HasPrefix(in, got) {
				t.Fatalf("%s: pieces %q are not a prefix of %q", d.name, got, in)
			}
			if rest := in[len(got):]; rest != "" && rest[0] != ';' {
				t.Fatalf("%s: %q was dropped from %q", d.name, rest, in)
			}
		}
	})
}
