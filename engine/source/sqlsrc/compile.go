// Package sqlsrc reads records from a SQL database (PostgreSQL through
// pgx, MySQL and MariaDB through go-sql-driver/mysql): a table or a
// query, paged by keyset so that a sync streams with bounded memory and
// resumes after its last committed row. A first or full read pages on
// the key columns (then catches up on what changed meanwhile); an
// incremental read is a union of keyset streams on plain columns —
// (incremental column, key), then (incremental.fallback, key) for rows
// whose increment is NULL and (each incremental.joined column, key) —
// each from its own watermark, so that an index serves every one.
package sqlsrc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
)

func init() {
	source.Register(source.Kind{Name: "sql", Source: (*SourceConfig)(nil), Entity: (*EntityConfig)(nil), Compile: compile})
}

// opener is one compiled entity: everything but the connection.
type opener struct {
	d        *dialect
	dsn      config.Secret // revealed only to connect
	tz       *time.Location
	entity   string
	stmts    *statements
	format   string // incremental.format: how watermark and window are bound
	incField string // output name of the increment; "" when not incremental
	batch    int
	count    bool
	usesWM   bool // the query names :watermark or a window placeholder
	lookback time.Duration
	keySig   string
}

// String and GoString keep the DSN out of a stray %v.
func (o *opener) String() string {
	return fmt.Sprintf("sql source (%s) of entity %q", o.d.name, o.entity)
}
func (o *opener) GoString() string { return o.String() }

// compile checks the settings of one sql entity without any I/O.
func compile(spec *source.Spec) (source.Opener, []source.Problem) {
	c := &compiler{spec: spec, at: spec.Path, src: &SourceConfig{}, cfg: &EntityConfig{}}
	if s, ok := spec.Source.Settings.(*SourceConfig); ok && s != nil {
		c.src = s
	}
	if e, ok := spec.Entity.Settings.(*EntityConfig); ok && e != nil {
		c.cfg = e
	}
	d := c.dialect()
	ent := spec.Entity
	o := &opener{d: d, dsn: c.src.DSN, tz: c.zone(), entity: ent.Name, batch: spec.BatchSize, count: c.cfg.Count}
	if o.batch < 1 {
		o.batch = 500
	}
	s := &statements{d: d, batch: o.batch}
	o.stmts = s
	c.relation(o, s)
	keys := c.keys(s)
	c.incremental(o, s, keys)
	if o.usesWM && s.mode != modeInc {
		c.warn(c.at+"/query", "sql-placeholder", "entity %q is not incremental: :watermark, :window_start and :window_end are always NULL", ent.Name)
	}
	o.keySig = keySignature(s)

	for _, p := range c.probs {
		if !p.Warning {
			return nil, c.probs
		}
	}
	return o, c.probs
}

// compiler collects the problems of one sql entity's settings.
type compiler struct {
	spec  *source.Spec
	src   *SourceConfig // the source's sql settings
	cfg   *EntityConfig // the entity's
	at    string        // the entity's JSON pointer
	probs []source.Problem
}

// zone is source.timezone, else the pipeline's (defaults.timezone), else
// UTC: how naive database times are read.
func (c *compiler) zone() *time.Location {
	def := c.spec.Timezone
	if def == nil {
		def = time.UTC
	}
	if c.src.Timezone == "" {
		return def
	}
	l, err := time.LoadLocation(c.src.Timezone)
	if err != nil {
		c.add("/source/timezone", "bad-timezone", "unknown time zone %q (use an IANA name such as UTC or America/Chicago)", c.src.Timezone)
		return def
	}
	return l
}

func (c *compiler) add(path, code, format string, args ...any) {
	c.probs = append(c.probs, source.Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (c *compiler) warn(path, code, format string, args ...any) {
	c.probs = append(c.probs, source.Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...), Warning: true})
}

// dialect checks driver and dsn; with neither usable it goes on with
// PostgreSQL's lexical rules so the entity is still checked.
func (c *compiler) dialect() *dialect {
	src := c.src
	d, ok := dialects[strings.ToLower(src.Driver)]
	switch {
	case src.Driver == "":
		c.add("/source/driver", "missing-setting", "source driver is missing: set driver: postgres or driver: mysql")
	case !ok:
		c.add("/source/driver", "invalid-value", "unknown sql driver %q (known: postgres, mysql; mariadb uses mysql)", src.Driver)
	}
	if !src.DSN.IsSet() {
		c.add("/source/dsn", "missing-setting", "source dsn is missing: set dsn: ${env:NAME} to the connection string")
	} else if d != nil {
		if msg := checkDSN(d, src.DSN.Reveal()); msg != "" {
			c.add("/source/dsn", "invalid-value", "%s", msg)
		}
	}
	if d == nil {
		d = postgres
	}
	return d
}

// relation is what the entity reads: a table (from, columns, where) or
// a SELECT of its own (query).
func (c *compiler) relation(o *opener, s *statements) {
	ent, at, d := c.cfg, c.at, s.d
	switch {
	case ent.From != "" && ent.Query != "":
		c.add(at+"/query", "invalid-value", "entity %q sets both from and query: keep one (from reads a table, query runs a SELECT)", c.spec.Entity.Name)
	case ent.From == "" && ent.Query == "":
		c.add(at+"/from", "missing-setting", "entity %q needs from (a table name) or query (a SELECT)", c.spec.Entity.Name)
	case ent.From != "":
		if msg := checkName(ent.From); msg != "" {
			c.add(at+"/from", "invalid-value", "from %q: %s", ent.From, msg)
		}
		s.table = d.quoteName(ent.From)
		s.cols = c.columns(d)
		if ent.Where != "" {
			s.where = checkExpr(d, ent.Where, "where", at+"/where", &c.probs)
		}
	default:
		if len(ent.Columns) > 0 {
			c.add(at+"/columns", "invalid-value", "columns applies to from: list the columns in the query instead")
		}
		if ent.Where != "" {
			c.add(at+"/where", "invalid-value", "where applies to from: write the condition in the query instead")
		}
		q, issues := d.scan(ent.Query, true, "query")
		for _, is := range issues {
			c.add(at+"/query", is.code, "%s (at character %d)", is.msg, is.offset+1)
		}
		if w := d.firstWord(ent.Query); w != "select" && w != "with" {
			c.add(at+"/query", "invalid-value", "query must be a SELECT (or WITH … SELECT), not %q", w)
		}
		for _, p := range q {
			if p.param != "" {
				o.usesWM = true
			}
		}
		s.query = q
	}
}

// columns is the select list of a from entity: its columns, quoted, or *.
func (c *compiler) columns(d *dialect) string {
	ent := c.cfg
	if len(ent.Columns) == 0 {
		return "*"
	}
	seen := map[string]bool{}
	q := make([]string, len(ent.Columns))
	for i, col := range ent.Columns {
		if msg := checkName(col); msg != "" {
			c.add(c.at+"/columns/"+strconv.Itoa(i), "invalid-value", "column %q: %s; use query for expressions", col, msg)
		}
		if seen[col] {
			c.add(c.at+"/columns/"+strconv.Itoa(i), "invalid-value", "column %q is listed twice", col)
		}
		seen[col] = true
		q[i] = d.quoteName(col)
	}
	return strings.Join(q, ", ")
}

// keys are the key columns the read pages on: key_columns, else the
// primary key.
func (c *compiler) keys(s *statements) []string {
	ent := c.cfg
	keys, keyPath := []string(ent.KeyColumns), c.at+"/key_columns"
	if len(keys) == 0 {
		keys, keyPath = c.spec.Entity.PrimaryKey, c.at+"/primary_key"
	}
	for i, k := range keys {
		if msg := checkName(k); msg != "" {
			c.add(keyPath+"/"+strconv.Itoa(i), "invalid-value", "key column %q: %s", k, msg)
		}
		s.keys = append(s.keys, s.d.quoteName(k))
	}
	return keys
}

// incremental picks the read's mode: keyset streams from a watermark
// (with fallback and joined streams), pages on the key, or one stream.
func (c *compiler) incremental(o *opener, s *statements, keys []string) {
	ent, at, d := c.spec.Entity, c.at, s.d
	inc := ent.Incremental
	switch {
	case inc != nil && !ent.FullRefresh:
		s.mode = modeInc
		o.incField, o.format = inc.Field, inc.Format
		if inc.Column != "" {
			s.inc = parenthesize(checkExpr(d, inc.Column, "incremental column", at+"/incremental/column", &c.probs))
			if l := strings.ToLower(inc.Column); strings.Contains(l, "coalesce(") || strings.Contains(l, "ifnull(") {
				c.warn(at+"/incremental/column", "sql-index-unfriendly", "entity %q: incremental.column %s is an expression no index serves: on a large table every page scans and sorts it. Use the plain column with a fallback, for example incremental: {field: updated_at, fallback: add_date}", ent.Name, inc.Column)
			}
		} else {
			s.inc = d.quoteName(inc.Field)
		}
		o.lookback = inc.Lookback.Duration
		c.extraStreams(s, inc)
		if s.query != nil {
			lintJoins(ent, c.cfg.Query, inc, &c.probs, at)
		}
		if len(keys) == 0 {
			c.add(at+"/primary_key", "missing-setting", "incremental sql entity %q needs primary_key (or key_columns): the read pages on (incremental column, key) so that rows sharing one time are neither lost nor repeated", ent.Name)
		}
	case len(keys) > 0:
		s.mode = modeKey
	default:
		s.mode = modeStream
	}
}

// extraStreams are the keyset streams beside the incremental column's:
// the fallback column for rows where it is NULL, and each joined table's
// change time.
func (c *compiler) extraStreams(s *statements, inc *config.Incremental) {
	ent, at, d := c.spec.Entity, c.at, s.d
	if inc.Fallback != "" {
		if msg := checkName(inc.Fallback); msg != "" {
			c.add(at+"/incremental/fallback", "invalid-value", "incremental fallback %q: %s (a column name: rows whose incremental column is NULL are read by it)", inc.Fallback, msg)
		}
		if inc.Column != "" {
			c.warn(at+"/incremental/fallback", "sql-fallback", "entity %q sets both incremental.column and incremental.fallback: prefer the plain column with the fallback, which an index serves", ent.Name)
		}
		s.extra = append(s.extra, extra{name: inc.Fallback, col: d.quoteName(inc.Fallback), nullInc: true})
	}
	for i, j := range inc.Joined {
		if msg := checkName(j); msg != "" {
			c.add(at+"/incremental/joined/"+strconv.Itoa(i), "invalid-value", "incremental joined column %q: %s", j, msg)
		}
		if slices.ContainsFunc(s.extra, func(x extra) bool { return x.name == j }) {
			c.add(at+"/incremental/joined/"+strconv.Itoa(i), "invalid-value", "incremental joined column %q is listed twice", j)
		}
		s.extra = append(s.extra, extra{name: j, col: d.quoteName(j)})
	}
}

// checkName accepts a table or column name, optionally qualified with
// dots; crmsync quotes each part itself.
func checkName(n string) string {
	for _, part := range strings.Split(n, ".") {
		if strings.TrimSpace(part) == "" {
			return "has an empty part"
		}
	}
	for _, c := range n {
		switch {
		case c == '"' || c == '`' || c == '\'':
			return "write the bare name without quotes: crmsync quotes it"
		case c < ' ' || c == ';' || c == '(' || c == ')' || c == ',':
			return "is not a plain name"
		}
	}
	return ""
}

// checkExpr checks SQL that is pasted as written (where, an incremental
// column): it receives no values and is one expression.
func checkExpr(d *dialect, sql, what, path string, probs *[]source.Problem) string {
	t, issues := d.scan(sql, false, what)
	for _, is := range issues {
		*probs = append(*probs, source.Problem{Path: path, Code: is.code, Message: fmt.Sprintf("%s (at character %d)", is.msg, is.offset+1)})
	}
	var b strings.Builder
	for _, p := range t {
		b.WriteString(p.text)
	}
	return strings.TrimSpace(b.String())
}

// parenthesize wraps an expression unless it is a plain (dotted) name,
// so that it keeps its meaning beside IS NULL, >= and row values.
func parenthesize(e string) string {
	for i := 0; i < len(e); i++ {
		if c := e[i]; !isIdentByte(c) && c != '.' {
			return "(" + e + ")"
		}
	}
	return e
}

// keySignature names the keyset; a Resume written for another keyset is
// not continued.
func keySignature(s *statements) string {
	if s.mode == modeInc && len(s.extra) > 0 {
		x := make([]string, len(s.extra))
		for i, e := range s.extra {
			x[i] = e.col
			if e.nullInc {
				x[i] += " fallback"
			}
		}
		return s.inc + "|" + strings.Join(x, "|") + "," + strings.Join(s.keys, ",")
	}
	if s.mode == modeInc {
		return s.inc + "," + strings.Join(s.keys, ",")
	}
	return strings.Join(s.keys, ",")
}
