package sqlsrc

import (
	"fmt"
	"strings"
)

// Named placeholders a query may use; each reaches the database as a
// bound parameter, NULL when the run has no such value.
const (
	pWatermark   = "watermark"
	pWindowStart = "window_start"
	pWindowEnd   = "window_end"
)

var placeholderNames = []string{pWatermark, pWindowStart, pWindowEnd}

// scanIssue is a problem the scanner found at a byte offset of the SQL.
type scanIssue struct {
	offset int
	code   string
	msg    string
}

// scan splits SQL written by the pipeline author into text and named
// placeholders (:watermark, :window_start, :window_end). It steps over
// string literals, quoted identifiers, comments, dollar quotes and ::
// casts, so that a colon there is left alone. named says whether the
// SQL may hold placeholders at all (a query may; where and column
// expressions are pasted as written and receive no values). A trailing
// semicolon is dropped; a second statement is an issue.
func (d *dialect) scan(sql string, named bool, what string) (sqlText, []scanIssue) {
	var (
		out    sqlText
		issues []scanIssue
		start  int
	)
	issue := func(at int, code, format string, args ...any) {
		issues = append(issues, scanIssue{offset: at, code: code, msg: fmt.Sprintf(format, args...)})
	}
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == '\'':
			esc := d.backslashStrings || (d.escapeStrings && i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !isIdentByte(sql[i-2])))
			i = d.skipQuoted(sql, i, esc, &issues, "string literal")
		case c == '"':
			i = d.skipQuoted(sql, i, d.backslashStrings && !d.doubleQuoteIdent, &issues, "quoted name")
		case c == '`' && d.backtickIdent:
			i = d.skipQuoted(sql, i, false, &issues, "quoted name")
		case d.isCommentStart(sql, i):
			i = d.skipComment(sql, i, &issues)
		case c == '$' && d.dollarQuotes && (i == 0 || !isIdentByte(sql[i-1])):
			if i+1 < n && isDigit(sql[i+1]) {
				issue(i, "sql-placeholder", "%s uses the positional parameter %s: write :watermark, :window_start or :window_end", what, positional(sql[i:]))
				i++
				continue
			}
			if tag, ok := dollarTag(sql[i:]); ok {
				end := strings.Index(sql[i+len(tag):], tag)
				if end < 0 {
					issue(i, "invalid-value", "%s has an unterminated %s string", what, tag)
					i = n
					continue
				}
				i += len(tag) + end + len(tag)
				continue
			}
			i++
		case c == '?' && !d.dollarParams:
			issue(i, "sql-placeholder", "%s uses the positional parameter ?: write :watermark, :window_start or :window_end (values are bound by name)", what)
			i++
		case c == ':':
			if i+1 < n && sql[i+1] == ':' {
				i += 2 // a ::cast, or the second colon of one
				for i < n && sql[i] == ':' {
					i++
				}
				continue
			}
			if i+1 >= n || !isIdentStart(sql[i+1]) {
				i++ // := and a lone colon are the database's business
				continue
			}
			j := i + 1
			for j < n && isIdentByte(sql[j]) && sql[j] != '$' {
				j++
			}
			name := sql[i+1 : j]
			switch {
			case indexOf(placeholderNames, name) < 0:
				issue(i, "sql-placeholder", "%s names an unknown placeholder :%s (known: :watermark, :window_start, :window_end)", what, name)
			case !named:
				issue(i, "sql-placeholder", "%s is pasted into the SQL as written and receives no values: remove :%s (crmsync adds the incremental filter itself)", what, name)
			default:
				if i > start {
					out.add(sql[start:i])
				}
				out.param(name)
				start = j
			}
			i = j
		case c == ';':
			if rest := d.skipBlank(sql, i+1); rest < n {
				issue(i, "invalid-value", "%s holds more than one statement: remove the text after the semicolon", what)
				i = n
				continue
			}
			if i > start {
				out.add(sql[start:i])
			}
			return out, issues
		default:
			i++
		}
	}
	if n > start {
		out.add(sql[start:])
	}
	return out, issues
}

// skipQuoted steps over a quoted run starting at sql[i]; a doubled quote
// is an escaped quote, and esc allows backslash escapes.
func (d *dialect) skipQuoted(sql string, i int, esc bool, issues *[]scanIssue, what string) int {
	q := sql[i]
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if esc {
				j++
			}
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	*issues = append(*issues, scanIssue{offset: i, code: "invalid-value", msg: "unterminated " + what + " (a " + string(q) + " is not closed)"})
	return len(sql)
}

func (d *dialect) isCommentStart(sql string, i int) bool {
	c := sql[i]
	next := byte(0)
	if i+1 < len(sql) {
		next = sql[i+1]
	}
	switch {
	case c == '-' && next == '-':
		return !d.dashNeedsSpace || i+2 == len(sql) || isSpace(sql[i+2])
	case c == '#':
		return d.hashComment
	case c == '/' && next == '*':
		return true
	}
	return false
}

// skipComment steps over the comment starting at sql[i].
func (d *dialect) skipComment(sql string, i int, issues *[]scanIssue) int {
	if sql[i] != '/' {
		if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
			return i + j + 1
		}
		return len(sql)
	}
	depth := 0
	for j := i; j+1 < len(sql); j++ {
		switch {
		case sql[j] == '/' && sql[j+1] == '*' && (depth == 0 || d.nestedComments):
			depth++
			j++
		case sql[j] == '*' && sql[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	if issues != nil {
		*issues = append(*issues, scanIssue{offset: i, code: "invalid-value", msg: "unterminated /* comment"})
	}
	return len(sql)
}

// skipBlank returns the offset of the first byte at or after i that is
// neither white space nor inside a comment.
func (d *dialect) skipBlank(sql string, i int) int {
	for i < len(sql) {
		switch {
		case isSpace(sql[i]):
			i++
		case d.isCommentStart(sql, i):
			i = d.skipComment(sql, i, nil)
		default:
			return i
		}
	}
	return i
}

// firstWord is the first keyword of a statement, lower-cased, after
// blanks, comments and opening parentheses.
func (d *dialect) firstWord(sql string) string {
	i := d.skipBlank(sql, 0)
	for i < len(sql) && sql[i] == '(' {
		i = d.skipBlank(sql, i+1)
	}
	j := i
	for j < len(sql) && isIdentByte(sql[j]) {
		j++
	}
	return strings.ToLower(sql[i:j])
}

// dollarTag matches $$ or $tag$ at the start of s.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		if c == '$' {
			return s[:j+1], true
		}
		if !(isIdentStart(c) || (j > 1 && isDigit(c))) {
			return "", false
		}
	}
	return "", false
}

func positional(s string) string {
	j := 1
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	return s[:j]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}
func isIdentByte(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }
