package sqlsrc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// explainMinRows is the size from which a scan or a sort per page is
// worth a warning.
var explainMinRows int64 = 50_000

// Explain runs EXPLAIN on the first page of each statement a sync sends
// (the read by key, the incremental read from a recent watermark, each
// extra stream) and warns, naming the entity and the table, when one
// would scan or sort a large table for every page. crmsync check calls
// it; nothing is read.
func (o *opener) Explain(ctx context.Context, env *source.Env) ([]string, error) {
	r := &reader{o: o, redact: func(s string) string { return s }}
	if env != nil && env.Redact != nil {
		r.redact = env.Redact
	}
	c, sess, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	s := o.stmts
	type stmt struct {
		what string
		sh   shape
	}
	var list []stmt
	switch s.mode {
	case modeStream:
		return nil, nil
	case modeKey:
		list = append(list, stmt{"read by key", shape{phase: phaseKey}})
	case modeInc:
		list = append(list, stmt{"first read (by key)", shape{phase: phaseKey}},
			stmt{"incremental read", shape{phase: phaseValue, wm: true}})
		for k, x := range s.extra {
			what := "incremental.joined " + x.name
			if x.nullInc {
				what = "incremental.fallback " + x.name
			}
			list = append(list, stmt{what + " read", shape{phase: phaseExtra + phase(k), wm: true}})
		}
	}
	recent := time.Now().Add(-time.Hour).In(o.tz).Format("2006-01-02 15:04:05")
	if o.d == postgres {
		// PostgreSQL's rows= are the rows a node returns: from a time that
		// every row passes, a Seq Scan shows the whole table.
		recent = "2000-01-01 00:00:00"
	}
	var out []string
	for _, st := range list {
		sql, names := o.d.render(s.build(st.sh))
		args := make([]any, len(names))
		for i, n := range names {
			if n == pWatermark || strings.HasPrefix(n, "x") {
				args[i] = recent
			}
		}
		rows, err := c.query(ctx, "EXPLAIN "+sql, args)
		if err != nil {
			return out, r.errorf(sess.tg, err, "entity %q: EXPLAIN of the %s", o.entity, st.what)
		}
		cols := rows.columns()
		idx := map[string]int{}
		for i, col := range cols {
			idx[strings.ToLower(col.name)] = i
		}
		var issues []string
		for rows.next() {
			v := rows.values()
			get := func(name string) string {
				if i, ok := idx[name]; ok && i < len(v) {
					return string(v[i])
				}
				return ""
			}
			if o.d == postgres {
				// One line of the text plan: "Seq Scan on job  (cost=… rows=123456 …)".
				line := get("query plan")
				n := planRows(line)
				if n >= explainMinRows && (strings.Contains(line, "Seq Scan on ") || strings.Contains(line, "Sort  ")) {
					issues = append(issues, fmt.Sprintf("%s (about %d rows)", pgWhat(line), n))
				}
				continue
			}
			n, _ := strconv.ParseInt(get("rows"), 10, 64)
			typ, extra, table := get("type"), get("extra"), get("table")
			if n >= explainMinRows && (typ == "ALL" || strings.Contains(extra, "filesort")) {
				what := "scan table " + table
				if strings.Contains(extra, "filesort") {
					what = "sort rows of table " + table
				}
				issues = append(issues, fmt.Sprintf("%s (about %d rows, type %s, %s)", what, n, typ, extra))
			}
		}
		if len(issues) > 0 {
			out = append(out, fmt.Sprintf("entity %q: the %s would %s for every page; add an index on the columns it orders by", o.entity, st.what, strings.Join(issues, " and ")))
		}
		rows.close()
		if err := rows.err(); err != nil {
			return out, r.errorf(sess.tg, err, "entity %q: EXPLAIN of the %s", o.entity, st.what)
		}
	}
	return out, nil
}

// planRows is the rows= estimate of a PostgreSQL plan line, -1 if none.
func planRows(line string) int64 {
	i := strings.Index(line, "rows=")
	if i < 0 {
		return -1
	}
	j := i + 5
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(line[i+5:j], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func pgWhat(line string) string {
	if i := strings.Index(line, "Seq Scan on "); i >= 0 {
		rest := strings.Fields(line[i+len("Seq Scan on "):])
		if len(rest) > 0 {
			return "scan table " + rest[0]
		}
	}
	return "sort"
}
