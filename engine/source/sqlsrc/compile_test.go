package sqlsrc

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

func TestRegistered(t *testing.T) {
	if _, ok := source.Lookup("sql"); !ok {
		t.Fatal(`source type "sql" is not registered`)
	}
}

// TestCompileProblems: every bad setting is reported at its JSON
// pointer with its code, all at once, and without the DSN password.
func TestCompileProblems(t *testing.T) {
	const pg, my = "postgres://u:pw@h/db", "u:pw@tcp(h:3306)/db"
	cases := []struct {
		name, driver, dsn, entity string
		want                      []string // "path code", in order
		warnOnly                  bool
	}{
		{"no driver", "", pg, "from: t", []string{"/source/driver missing-setting"}, false},
		{"unknown driver", "oracle", pg, "from: t", []string{"/source/driver invalid-value"}, false},
		{"no dsn", "postgres", "", "from: t", []string{"/source/dsn missing-setting"}, false},
		{"bad mysql dsn", "mysql", "u:s3cret@tcp(h:3306", "from: t", []string{"/source/dsn invalid-value"}, false},
		{"postgres dsn of another scheme", "postgres", "mysql://u@h/db", "from: t", []string{"/source/dsn invalid-value"}, false},
		{"from and query", "postgres", pg, "from: t\nquery: SELECT 1", []string{"/entities/e/query invalid-value"}, false},
		{"neither from nor query", "postgres", pg, "primary_key: [id]", []string{"/entities/e/from missing-setting"}, false},
		{"quoted from", "mysql", my, "from: '`lead`'", []string{"/entities/e/from invalid-value"}, false},
		{"expression and duplicate in columns", "postgres", pg, "from: t\ncolumns: [id, 'count(*)', id]",
			[]string{"/entities/e/columns/1 invalid-value", "/entities/e/columns/2 invalid-value"}, false},
		{"where with a placeholder", "postgres", pg, "from: t\nwhere: updated_at > :watermark", []string{"/entities/e/where sql-placeholder"}, false},
		{"where with ? on mysql", "mysql", my, "from: t\nwhere: id > ?", []string{"/entities/e/where sql-placeholder"}, false},
		{"where with $1 on postgres", "postgres", pg, "from: t\nwhere: id > $1", []string{"/entities/e/where sql-placeholder"}, false},
		{"where with a second statement", "postgres", pg, "from: t\nwhere: 'a = 1; DROP TABLE t'", []string{"/entities/e/where invalid-value"}, false},
		{"unknown placeholder", "postgres", pg, "query: SELECT * FROM t WHERE a > :watermrk", []string{"/entities/e/query sql-placeholder"}, false},
		{"positional ? in a mysql query", "mysql", my, "query: SELECT * FROM t WHERE a > ?", []string{"/entities/e/query sql-placeholder"}, false},
		{"not a select", "postgres", pg, "query: DELETE FROM t", []string{"/entities/e/query invalid-value"}, false},
		{"two statements", "mysql", my, "query: SELECT 1; SELECT 2", []string{"/entities/e/query invalid-value"}, false},
		{"unterminated string", "postgres", pg, "query: SELECT 'abc FROM t", []string{"/entities/e/query invalid-value"}, false},
		{"columns and where with query", "postgres", pg, "query: SELECT 1\ncolumns: [a]\nwhere: a = 1",
			[]string{"/entities/e/columns invalid-value", "/entities/e/where invalid-value"}, false},
		{"incremental without a key", "postgres", pg, "from: t\nincremental: {field: updated_at}", []string{"/entities/e/primary_key missing-setting"}, false},
		{"bad key column", "postgres", pg, "from: t\nkey_columns: ['a b)']", []string{"/entities/e/key_columns/0 invalid-value"}, false},
		{"placeholder in the incremental column", "postgres", pg, "from: t\nprimary_key: [id]\nincremental: {field: u, column: 'GREATEST(u, :watermark)'}",
			[]string{"/entities/e/incremental/column sql-placeholder"}, false},
		{"an expression no index serves", "postgres", pg, "from: t\nprimary_key: [id]\nincremental: {field: u, column: 'COALESCE(u, a)'}",
			[]string{"/entities/e/incremental/column sql-index-unfriendly"}, true},
		{"placeholder in a query that is not incremental", "postgres", pg, "query: SELECT * FROM t WHERE u > :watermark",
			[]string{"/entities/e/query sql-placeholder"}, true},
		{"postgres lexical forms", "postgres", pg, `query: "SELECT ':x'::text, $$ :y $$, $t$ :z $t$, E'\\' :w', \"a:b\", x::date, y:: int FROM t /* :c /* :d */ */ -- :e"`, nil, false},
		{"mysql lexical forms", "mysql", my, "query: \"SELECT 'it\\\\' :x', \\\"q\\\\\\\" :y\\\", `c:z`, @v := 1 FROM t # :w\"", nil, false},
		{"good table read", "mysql", my, "from: genius.prospect\ncolumns: [id, updated_at]\nwhere: \"is_deleted = 0 AND note <> ':)'\"\nprimary_key: [id]\nincremental: {field: updated_at}", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op, probs := compileYAML(t, c.driver, c.dsn, c.entity, opts{})
			var got []string
			for _, p := range probs {
				got = append(got, p.Path+" "+p.Code)
				if strings.Contains(p.Message, "s3cret") || strings.Contains(p.Message, ":pw@") {
					t.Errorf("message shows the password: %s", p.Message)
				}
				if p.Warning != c.warnOnly {
					t.Errorf("%s: warning = %v, want %v", p.Message, p.Warning, c.warnOnly)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("problems %v, want %v\n%s", got, c.want, messages(probs))
			}
			if hasErr := len(c.want) > 0 && !c.warnOnly; (op == nil) != hasErr {
				t.Errorf("opener = %v with problems %v", op, probs)
			}
		})
	}
}

func messages(probs []source.Problem) string {
	var b strings.Builder
	for _, p := range probs {
		fmt.Fprintf(&b, "  %s %s: %s\n", p.Path, p.Code, p.Message)
	}
	return b.String()
}

// TestSecretNotInOpener: a compiled entity printed by mistake does not
// show its DSN.
func TestSecretNotInOpener(t *testing.T) {
	op, probs := compileYAML(t, "postgres", "postgres://u:topsecret@h/db", "from: t", opts{})
	if op == nil {
		t.Fatal(probs)
	}
	for _, s := range []string{fmt.Sprintf("%v", op), fmt.Sprintf("%+v", op), fmt.Sprintf("%#v", op)} {
		if strings.Contains(s, "topsecret") {
			t.Fatalf("opener prints its DSN: %s", s)
		}
	}
}
