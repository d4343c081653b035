package sqlsrc

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
)

// joinedColumn is an output column of a query that reads a joined table.
type joinedColumn struct {
	column  string   // the output name
	aliases []string // the joined tables' aliases in the query
	tables  []string // the joined tables
}

var (
	sqlComment = regexp.MustCompile(`(?s)--[^\n]*|#[^\n]*|/\*.*?\*/`)
	sqlString  = regexp.MustCompile(`'(?:[^'\\]|\\.|'')*'`)
	tableRef   = regexp.MustCompile("(?i)\\b(from|join)\\s+([\\w.`\"]+)(?:\\s+(?:as\\s+)?([a-z_]\\w*))?")
	qualified  = regexp.MustCompile(`\b([A-Za-z_]\w*)\.[A-Za-z_*"` + "`" + `]`)
	asName     = regexp.MustCompile("(?i)\\bas\\s+[`\"]?(\\w+)[`\"]?\\s*$")
	plainCol   = regexp.MustCompile("^[`\"]?(?:\\w+)[`\"]?\\.[`\"]?(\\w+)[`\"]?$")
)

// notAlias are words that may follow a table name without being its alias.
var notAlias = map[string]bool{"on": true, "using": true, "where": true, "left": true, "right": true, "inner": true,
	"outer": true, "cross": true, "join": true, "natural": true, "straight_join": true, "group": true, "order": true,
	"limit": true, "union": true, "having": true, "window": true, "full": true, "lateral": true}

// joinedColumns finds, in a SELECT over joins, the output columns that
// come from a table other than the first one after FROM: an incremental
// read that follows the main table's change time never sees a change to
// those alone. It is a lexical look, good for the common
// SELECT a.x, b.y AS z FROM a LEFT JOIN b ON … shape; it reports nothing
// it cannot read.
func joinedColumns(query string) []joinedColumn {
	q := sqlComment.ReplaceAllString(query, " ")
	q = sqlString.ReplaceAllString(q, "''")
	q = strings.NewReplacer("`", "", `"`, "").Replace(q) // quoted names read as bare ones
	refs := tableRef.FindAllStringSubmatch(q, -1)
	if len(refs) < 2 {
		return nil
	}
	tables := map[string]string{} // alias → table
	main := ""
	for i, r := range refs {
		table := strings.Trim(r[2], "`\"")
		alias := r[3]
		if alias == "" || notAlias[strings.ToLower(alias)] {
			alias = table[strings.LastIndexByte(table, '.')+1:]
		}
		if i == 0 {
			if !strings.EqualFold(r[1], "from") {
				return nil
			}
			main = alias
			continue
		}
		tables[alias] = table
	}
	list, ok := selectList(q)
	if !ok {
		return nil
	}
	var out []joinedColumn
	for _, item := range list {
		item = strings.TrimSpace(item)
		name := ""
		if m := asName.FindStringSubmatch(item); m != nil {
			name = m[1]
		} else if m := plainCol.FindStringSubmatch(item); m != nil {
			name = m[1]
		}
		if name == "" {
			continue
		}
		jc := joinedColumn{column: name}
		for _, m := range qualified.FindAllStringSubmatch(item, -1) {
			if a := m[1]; a != main && tables[a] != "" && !slices.Contains(jc.aliases, a) {
				jc.aliases, jc.tables = append(jc.aliases, a), append(jc.tables, tables[a])
			}
		}
		if len(jc.aliases) > 0 {
			out = append(out, jc)
		}
	}
	return out
}

// selectList splits the outermost SELECT's list at its top-level commas.
func selectList(q string) ([]string, bool) {
	lower := strings.ToLower(q)
	start := strings.Index(lower, "select")
	if start < 0 {
		return nil, false
	}
	i := start + len("select")
	depth, from := 0, -1
	var items []string
	last := i
	for ; i < len(q) && from < 0; i++ {
		switch q[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				items = append(items, q[last:i])
				last = i + 1
			}
		default:
			if depth == 0 && strings.HasPrefix(lower[i:], "from") && i > 0 && !isIdentByte(q[i-1]) &&
				(i+4 == len(q) || !isIdentByte(q[i+4])) {
				from = i
			}
		}
	}
	if from < 0 {
		return nil, false
	}
	return append(items, q[last:from]), true
}

// lintJoins warns about the fields of an incremental query that come
// from a joined table whose changes the read does not follow: a change
// to that table alone leaves them stale until --full. A joined table is
// followed when incremental.joined names an output column read from it.
func lintJoins(ent *config.Entity, query string, inc *config.Incremental, probs *[]source.Problem, at string) {
	cols := joinedColumns(query)
	followed := map[string]bool{}
	for _, jc := range cols {
		if slices.Contains(inc.Joined, jc.column) {
			for _, a := range jc.aliases {
				followed[a] = true
			}
		}
	}
	for _, jc := range cols {
		if slices.Contains(inc.Joined, jc.column) {
			continue
		}
		var missed []string
		for i, a := range jc.aliases {
			if !followed[a] {
				missed = append(missed, jc.tables[i]+" ("+a+")")
			}
		}
		if len(missed) == 0 {
			continue
		}
		field := jc.column
		for _, f := range ent.Fields {
			if f.Path == jc.column || (f.Path == "" && f.Name == jc.column) {
				field = f.Name
				break
			}
		}
		*probs = append(*probs, source.Problem{Path: at + "/query", Code: "sql-joined-stale", Warning: true,
			Message: fmt.Sprintf("entity %q: field %s comes from the joined table %s, whose changes the incremental read does not follow: a change there alone leaves %s stale until --full. Select that table's change time (for example %s.updated_at AS %s_updated_at) and list it in incremental.joined",
				ent.Name, field, strings.Join(missed, " and "), field, jc.aliases[0], jc.aliases[0])})
	}
}
