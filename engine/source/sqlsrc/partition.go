package sqlsrc

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/crmsync/crmsync/engine/source"
)

var _ source.Partitioner = (*reader)(nil)

// bindRange binds a partition's key range (see source.KeyRange).
func (rn *run) bindRange(st source.ReadState) error {
	o := rn.r.o
	if st.Range == nil {
		return nil
	}
	if o.stmts.mode == modeStream || len(o.stmts.keys) != 1 {
		return fmt.Errorf("entity %q: a partitioned read needs a primary key of one column", o.entity)
	}
	if !rn.full() {
		return fmt.Errorf("entity %q: a partition is a part of a full read, not of one from a watermark or window", o.entity)
	}
	rn.rng = st.Range
	var err error
	if rn.rlo, err = rangeArg(st.Range.Lo); err != nil {
		return fmt.Errorf("entity %q: partition bound %s: %w", o.entity, st.Range.Lo, err)
	}
	if rn.rhi, err = rangeArg(st.Range.Hi); err != nil {
		return fmt.Errorf("entity %q: partition bound %s: %w", o.entity, st.Range.Hi, err)
	}
	return nil
}

// rangeArg binds a bound: a JSON number as an integer (as the key
// column compares it), a JSON string as text; "" is no bound (nil).
func rangeArg(s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] == '"' {
		var v string
		err := json.Unmarshal([]byte(s), &v)
		return v, err
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	return nil, fmt.Errorf("not an integer or a JSON string")
}

// Partitions splits the entity's keys into ranges of equal row counts:
// one COUNT(*) and one pass over the key index numbering the rows
// (ROW_NUMBER, PostgreSQL and MariaDB 10.2+/MySQL 8), keeping every
// step-th key as a boundary. Gaps and skew in the keys do not matter.
func (r *reader) Partitions(ctx context.Context, n, rows int) ([]source.KeyRange, error) {
	o := r.o
	if o.stmts.mode == modeStream || len(o.stmts.keys) != 1 {
		return nil, fmt.Errorf("entity %q: partitions need a primary key of one column", o.entity)
	}
	c, sess, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	fail := func(err error, what string) error {
		return ctxErr(ctx, r.errorf(sess.tg, err, "entity %q: planning partitions: %s", o.entity, what))
	}
	var total int64
	if err := r.scalar(ctx, c, o.stmts.build(shape{count: true}), func(v []byte, _ column) error {
		total, err = strconv.ParseInt(string(v), 10, 64)
		return err
	}); err != nil {
		return nil, fail(err, "counting rows")
	}
	step := int64(rows)
	if step <= 0 {
		if n < 1 {
			n = 1
		}
		step = (total + int64(n) - 1) / int64(n)
	}
	if step < 1 || total <= step {
		return []source.KeyRange{{}}, nil
	}
	k := o.stmts.keys[0]
	var t sqlText
	t.add("SELECT b FROM (SELECT ", k, " AS b, ROW_NUMBER() OVER (ORDER BY ", k, ") AS rn FROM ")
	o.stmts.addSource(&t)
	o.stmts.addWhere(&t, nil)
	t.add(") x WHERE MOD(x.rn - 1, ", strconv.FormatInt(step, 10), ") = 0 AND x.rn > 1 ORDER BY b")
	var bounds []string
	if err := r.scalar(ctx, c, t, func(v []byte, col column) error {
		if v == nil {
			return fmt.Errorf("a NULL key")
		}
		if col.kind == kInt {
			bounds = append(bounds, string(v))
		} else {
			j, _ := json.Marshal(string(v))
			bounds = append(bounds, string(j))
		}
		return nil
	}); err != nil {
		return nil, fail(err, "finding the boundaries")
	}
	out := make([]source.KeyRange, 0, len(bounds)+1)
	lo := ""
	for _, b := range bounds {
		out = append(out, source.KeyRange{Lo: lo, Hi: b})
		lo = b
	}
	return append(out, source.KeyRange{Lo: lo}), nil
}

// scalar runs a statement of one column (a query's own placeholders
// bound to NULL: a full read) and calls each for every row.
func (r *reader) scalar(ctx context.Context, c dbConn, t sqlText, each func([]byte, column) error) error {
	sql, names := r.o.d.render(t)
	r.calls.Add(1)
	rows, err := c.query(ctx, sql, make([]any, len(names)))
	if err != nil {
		return err
	}
	defer rows.close()
	cols := rows.columns()
	for rows.next() {
		vals := rows.values()
		if len(vals) != 1 || len(cols) != 1 {
			return fmt.Errorf("expected one column")
		}
		if err := each(vals[0], cols[0]); err != nil {
			return err
		}
	}
	rows.close()
	return rows.err()
}
