package sqlsrc

import (
	"slices"
	"strconv"
	"strings"
)

// dialect is what differs between the SQL drivers: how identifiers are
// quoted, how parameters are written, which lexical forms the query
// scanner must step over, and whether row values compare well.
type dialect struct {
	name string
	// quote is the identifier quote character.
	quote byte
	// dollarParams: parameters are $1, $2 … and one number may repeat
	// (postgres); otherwise ? in bind order (mysql).
	dollarParams bool
	// rowCompare: (a, b) > ($1, $2) is supported and can use an index.
	rowCompare bool

	// Lexical rules for the placeholder scanner.
	backslashStrings bool // '…' and "…" take backslash escapes (mysql)
	doubleQuoteIdent bool // "…" is an identifier (postgres), else a string
	backtickIdent    bool // `…` is an identifier (mysql)
	hashComment      bool // # starts a comment (mysql)
	dashNeedsSpace   bool // -- starts a comment only before a space (mysql)
	nestedComments   bool // /* /* */ */ nest (postgres)
	dollarQuotes     bool // $tag$…$tag$ strings (postgres)
	escapeStrings    bool // E'…' takes backslash escapes (postgres)
}

var (
	postgres = &dialect{name: "postgres", quote: '"', dollarParams: true, rowCompare: true,
		doubleQuoteIdent: true, nestedComments: true, dollarQuotes: true, escapeStrings: true}
	mysql = &dialect{name: "mysql", quote: '`',
		backslashStrings: true, backtickIdent: true, hashComment: true, dashNeedsSpace: true}
)

// dialects maps the accepted driver names.
var dialects = map[string]*dialect{
	"postgres": postgres, "postgresql": postgres, "pgx": postgres,
	"mysql": mysql, "mariadb": mysql,
}

// Drivers lists the accepted driver names, sorted.
func Drivers() []string {
	out := make([]string, 0, len(dialects))
	for k := range dialects {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// quoteIdent quotes one identifier, doubling the quote character.
func (d *dialect) quoteIdent(name string) string {
	q := string(d.quote)
	return q + strings.ReplaceAll(name, q, q+q) + q
}

// quoteName quotes a possibly schema-qualified name part by part.
func (d *dialect) quoteName(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = d.quoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// render writes t as SQL for this driver and returns the parameter names
// in bind order: each distinct name once for $n, each occurrence for ?.
func (d *dialect) render(t sqlText) (string, []string) {
	var b strings.Builder
	var names []string
	for _, p := range t {
		if p.param == "" {
			b.WriteString(p.text)
			continue
		}
		if !d.dollarParams {
			b.WriteByte('?')
			names = append(names, p.param)
			continue
		}
		n := indexOf(names, p.param)
		if n < 0 {
			names = append(names, p.param)
			n = len(names) - 1
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n + 1))
	}
	return b.String(), names
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// piece is a run of SQL text or one named parameter.
type piece struct {
	text  string
	param string
}

// sqlText is SQL with named parameters, rendered per driver at the end.
type sqlText []piece

func (t *sqlText) add(s ...string) {
	for _, x := range s {
		if n := len(*t); n > 0 && (*t)[n-1].param == "" {
			(*t)[n-1].text += x
			continue
		}
		*t = append(*t, piece{text: x})
	}
}

func (t *sqlText) param(name string) { *t = append(*t, piece{param: name}) }

func (t *sqlText) addText(o sqlText) {
	for _, p := range o {
		if p.param != "" {
			t.param(p.param)
		} else {
			t.add(p.text)
		}
	}
}
