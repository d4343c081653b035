package sqlsrc

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/crmsync/crmsync/engine/source"
)

// run is the state of one Read: the connection, the bound values, the
// cursor after the last row read, and the page being built.
type run struct {
	r     *reader
	c     dbConn
	sess  session
	emit  func(source.Page) error
	built map[shape]built

	hasWM      bool
	wmTime     time.Time
	wmText     string
	start, end time.Time
	incUTC     bool // mysql: the incremental column is a TIMESTAMP, bind times in UTC
	rng        *source.KeyRange
	rlo, rhi   any // the range's bounds as bound

	cur    cursor
	phases []phase // the parts of this read, in order

	xs        []xstate // the extra streams' watermarks (incremental.fallback, .joined)
	catch     string   // a full read's catch-up: the newest increment before it began
	catchSet  bool
	seen      map[string]string // the resumed position's newest extra values, folded in when it is continued
	page      int
	total     int
	committed string // the Resume the runner holds: st.Resume, then each page's

	lay     layout
	buf     []byte // JSON of the page's rows, back to back
	ends    []int  // end offset of each row in buf
	scratch []byte
	// cells index the page's rows (source.Record.Cells), len(keys.Names)
	// a row, when every row of the page was written with the same keys;
	// keys is nil otherwise.
	cells []source.Cell
	keys  *source.Keys
}

// built is a statement rendered for the driver.
type built struct {
	sql   string
	names []string // parameter names in bind order
}

func (rn *run) stmt(sh shape) built {
	if b, ok := rn.built[sh]; ok {
		return b
	}
	sql, names := rn.r.o.d.render(rn.r.o.stmts.build(sh))
	b := built{sql: sql, names: names}
	rn.built[sh] = b
	return b
}

// pages reads one phase of a keyed read, one query per page. Each query
// asks for one row more than a page: that row says whether another page
// follows, so the last page of the read knows it is the last.
func (rn *run) pages(ctx context.Context, ph phase, final bool) error {
	if rn.cur.set && rn.cur.phase != ph {
		rn.cur.set = false
	}
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("entity %q: after page %d: %w", rn.r.o.entity, rn.page, err)
		}
		n, more, err := rn.query(ctx, rn.phaseShape(ph))
		if err != nil {
			return err
		}
		if n > 0 {
			if err := rn.flush(final && !more); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
	}
}

// readPhases reads the phases of a keyed read in order. A resumed
// position continues its phase; the phases before it were read.
func (rn *run) readPhases(ctx context.Context) error {
	start := 0
	if rn.cur.set {
		start = -1
		for i, ph := range rn.phases {
			if ph == rn.cur.phase {
				start = i
			}
		}
		if start < 0 {
			rn.cur.set, start = false, 0 // a position of another kind of read
		}
	}
	if rn.cur.set {
		for k, x := range rn.r.o.stmts.extra {
			v, ok := rn.seen[x.name]
			if w := &rn.xs[k]; ok && (!w.set || bytes.Compare([]byte(v), w.max) > 0) {
				w.max, w.set = []byte(v), true
			}
		}
	}
	resumed := rn.cur.set
	began := time.Now()
	for i := start; i < len(rn.phases); i++ {
		ph := rn.phases[i]
		if rn.catchSet && ph != phaseKey && !resumed && rn.r.o.lookback > 0 && time.Since(began) < rn.r.o.lookback/2 {
			// The read by key took less than half the lookback: the next
			// sync's lookback reaches back past the start of this read
			// with half of it to spare for commit lag and clock skew, so
			// it finds what changed meanwhile; no catch-up now.
			break
		}
		if err := rn.pages(ctx, ph, i == len(rn.phases)-1); err != nil {
			return err
		}
	}
	return nil
}

// finish makes sure the runner's last position is the state of a
// complete read ("", or only the fallback's watermark): a complete read
// leaves no cursor behind for the next sync to continue from.
func (rn *run) finish() error {
	done := rn.resumeText(false)
	if rn.committed == done {
		return nil
	}
	return rn.emitPage(source.Page{Number: rn.page + 1, Total: rn.total, Resume: done})
}

// stream runs an unkeyed statement once, emitting a page per batch.
func (rn *run) stream(ctx context.Context) error {
	if _, _, err := rn.query(ctx, shape{phase: phaseAll}); err != nil {
		return err
	}
	if len(rn.ends) > 0 {
		return rn.flush(true)
	}
	return nil
}

// query runs one statement and encodes its rows into the page buffer.
// A keyed statement returns at most one page and a peek row (more); an
// unkeyed one streams, and full pages are emitted while it is open.
func (rn *run) query(ctx context.Context, sh shape) (n int, more bool, err error) {
	b := rn.stmt(sh)
	args := make([]any, len(b.names))
	for i, name := range b.names {
		args[i] = rn.arg(name, sh.phase)
	}
	rn.r.calls.Add(1)
	if eq, ok := rn.c.(eachQuerier); ok {
		started, err := eq.each(ctx, b.sql, args, func(rows dbRows) error {
			var err error
			n, more, err = rn.rows(ctx, rows, sh)
			return err
		})
		if err != nil && !started {
			return 0, false, ctxErr(ctx, rn.pageError(err, "querying"))
		}
		return n, more, err
	}
	rows, err := rn.c.query(ctx, b.sql, args)
	if err != nil {
		return 0, false, ctxErr(ctx, rn.pageError(err, "querying"))
	}
	defer rows.close()
	return rn.rows(ctx, rows, sh)
}

// rows encodes a result's rows into the page buffer (see query).
func (rn *run) rows(ctx context.Context, rows dbRows, sh shape) (n int, more bool, err error) {
	cols := rows.columns()
	if len(cols) == 0 {
		// pgx reports a failed statement only through rows.Err.
		rows.close()
		if err := rows.err(); err != nil {
			return 0, false, ctxErr(ctx, rn.pageError(err, "querying"))
		}
	}
	if err := rn.layoutFor(cols); err != nil {
		return 0, false, err
	}
	batch, tz := rn.r.o.batch, rn.zone()
	keyed := sh.phase != phaseAll
	for rows.next() {
		if len(rn.ends) == batch {
			if keyed {
				more = true
				break
			}
			if err := rn.flush(false); err != nil {
				return n, false, err
			}
		}
		vals := rows.values()
		rn.buf, rn.cells = rn.lay.appendRow(rn.buf, vals, tz, &rn.scratch, rn.cells, rn.indexRow())
		rn.ends = append(rn.ends, len(rn.buf))
		if keyed {
			rn.capture(vals, sh.phase)
		}
		n++
	}
	rows.close()
	if err := rows.err(); err != nil {
		return n, false, ctxErr(ctx, rn.pageError(err, "reading rows"))
	}
	return n, more, nil
}

// indexRow reports whether the next row's cells are noted: not when the
// page cannot be indexed (the layout has no keys, or differs from its
// first row's). A page's cells are sized at its start (up to 64k).
func (rn *run) indexRow() bool {
	k := rn.lay.keys
	if len(rn.ends) == 0 {
		rn.keys, rn.cells = k, rn.cells[:0]
		if k != nil {
			if n := min(rn.r.o.batch*len(k.Names), 1<<16); cap(rn.cells) < n {
				rn.cells = make([]source.Cell, 0, n)
			}
		}
	}
	if k == nil || k != rn.keys {
		rn.keys = nil
		return false
	}
	return true
}

// flush emits the rows in the buffer as one page: one string for the
// whole page, each record a slice of it. last marks the end of the read:
// its Resume is the state of a complete read ("" or the extra streams'
// watermarks).
func (rn *run) flush(last bool) error {
	// The page's string is the buffer itself, handed over (as httpsrc
	// does with a body): the next page gets a new buffer of the same
	// size, so no page is copied once more.
	s := unsafe.String(unsafe.SliceData(rn.buf), len(rn.buf))
	recs := make([]source.Record, len(rn.ends))
	prev := 0
	for i, e := range rn.ends {
		recs[i].JSON = s[prev:e]
		prev = e
	}
	if keys := rn.keys; keys != nil && len(rn.cells) == len(recs)*len(keys.Names) {
		// The cells go with the page, like the buffer.
		n := len(keys.Names)
		for i := range recs {
			recs[i].Keys, recs[i].Cells = keys, rn.cells[i*n:(i+1)*n:(i+1)*n]
		}
		rn.cells = make([]source.Cell, 0, cap(rn.cells))
	}
	rn.cells, rn.keys = rn.cells[:0], nil
	rn.buf, rn.ends = make([]byte, 0, cap(rn.buf)), rn.ends[:0]
	p := source.Page{Number: rn.page + 1, Records: recs, Total: rn.total}
	if rn.r.o.stmts.mode != modeStream {
		p.Resume = rn.resumeText(rn.cur.set && !last)
	}
	return rn.emitPage(p)
}

func (rn *run) emitPage(p source.Page) error {
	rn.page = p.Number
	rn.committed = p.Resume
	return rn.emit(p)
}

// arg is the value bound to a named parameter.
func (rn *run) arg(name string, ph phase) any {
	switch name {
	case pWatermark:
		if rn.catchSet && ph == phaseValue {
			return shiftText(rn.catch, rn.r.o.lookback)
		}
		if !rn.hasWM || ph >= phaseExtra {
			// An extra stream reads rows whatever their increment: a
			// query's own :watermark filter must let them through.
			return nil
		}
		if !rn.wmTime.IsZero() {
			return rn.timeArg(rn.wmTime)
		}
		return textArg(rn.wmText)
	case pWindowStart:
		if rn.start.IsZero() {
			return nil
		}
		return rn.timeArg(rn.start)
	case pWindowEnd:
		if rn.end.IsZero() {
			return nil
		}
		return rn.timeArg(rn.end)
	case pRangeLo:
		return rn.rlo
	case pRangeHi:
		return rn.rhi
	}
	if k, ok := strings.CutPrefix(name, "x"); ok { // x0, x1 …: an extra stream's watermark
		i, _ := strconv.Atoi(k)
		return shiftText(rn.xs[i].start, rn.r.o.lookback)
	}
	i, _ := strconv.Atoi(name[1:]) // c0, c1 …
	return rn.cur.vals[rn.r.o.stmts.hiddenIndex(ph, i)].arg()
}

// timeArg writes a time as the incremental column compares it: a wall
// clock in the source zone (postgres also gets the offset, which a
// timestamptz uses and a timestamp ignores), or epoch numbers.
func (rn *run) timeArg(t time.Time) any {
	switch rn.r.o.format {
	case "epoch_s":
		return t.Unix()
	case "epoch_ms":
		return t.UnixMilli()
	case "date":
		return t.UTC().Format("2006-01-02")
	}
	if rn.r.o.d == postgres {
		return t.In(rn.zone()).Format("2006-01-02 15:04:05.999999-07:00")
	}
	loc := rn.zone()
	if rn.incUTC {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05.999999")
}

// textArg binds a watermark that is not a time: a whole number as one.
func textArg(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return s
}

// startCatchUp notes, before a full read by key, the newest value of
// the increment and of each extra stream's column. After the read, the
// catch-up phases re-read from there the rows that changed while it
// ran (a row updated behind the key cursor), so that the watermark the
// runner commits — the newest increment read — skips none. A resumed
// full read keeps the values it started with.
func (rn *run) startCatchUp(ctx context.Context) error {
	o := rn.r.o
	if rn.catchSet || rn.cur.set {
		return nil
	}
	one := func(col string, nullInc bool) (string, bool, error) {
		sql, names := o.d.render(o.stmts.maxOf(col, nullInc))
		args := make([]any, len(names)) // a query's own placeholders are NULL: a full read
		rn.r.calls.Add(1)
		rows, err := rn.c.query(ctx, sql, args)
		if err != nil {
			return "", false, ctxErr(ctx, rn.r.errorf(rn.sess.tg, err, "entity %q: reading the newest %s before a full read", o.entity, col))
		}
		defer rows.close()
		var v string
		ok := false
		if rows.next() {
			if vals := rows.values(); len(vals) == 1 && vals[0] != nil {
				v, ok = string(vals[0]), true
			}
		}
		rows.close()
		if err := rows.err(); err != nil {
			return "", false, ctxErr(ctx, rn.r.errorf(rn.sess.tg, err, "entity %q: reading the newest %s before a full read", o.entity, col))
		}
		return v, ok, nil
	}
	var err error
	if rn.catch, rn.catchSet, err = one(o.stmts.inc, false); err != nil {
		return err
	}
	for k, x := range o.stmts.extra {
		v, ok, err := one(x.col, x.nullInc)
		if err != nil {
			return err
		}
		if ok {
			rn.xs[k].start, rn.xs[k].startSet = v, true
		}
	}
	return nil
}

// countRows runs COUNT(*) over what the read covers, for Page.Total.
func (rn *run) countRows(ctx context.Context) error {
	sh := rn.baseShape()
	sh.count = true
	b := rn.stmt(sh)
	args := make([]any, len(b.names))
	for i, name := range b.names {
		args[i] = rn.arg(name, phaseAll)
	}
	rn.r.calls.Add(1)
	rows, err := rn.c.query(ctx, b.sql, args)
	if err != nil {
		return ctxErr(ctx, rn.pageError(err, "counting rows"))
	}
	defer rows.close()
	if rows.next() {
		v := rows.values()
		if len(v) == 1 {
			if n, err := strconv.Atoi(string(v[0])); err == nil {
				rn.total = n
			}
		}
	}
	rows.close()
	if err := rows.err(); err != nil {
		return ctxErr(ctx, rn.pageError(err, "counting rows"))
	}
	return nil
}

// probeTimeType asks MySQL for the type of the incremental column when
// it matters: with the session in UTC, a TIMESTAMP compares with a UTC
// wall clock while a DATETIME compares with one in source.timezone.
func (rn *run) probeTimeType(ctx context.Context) error {
	o := rn.r.o
	if o.d != mysql || !rn.sess.utc || o.tz == time.UTC || o.stmts.mode != modeInc ||
		(rn.wmTime.IsZero() && rn.start.IsZero() && rn.end.IsZero()) {
		return nil
	}
	var t sqlText
	t.add("SELECT ", o.stmts.inc, " FROM ")
	o.stmts.addSource(&t)
	var never sqlText
	never.add("1 = 0")
	o.stmts.addWhere(&t, []sqlText{never})
	sql, names := o.d.render(t)
	rn.r.calls.Add(1)
	rows, err := rn.c.query(ctx, sql, make([]any, len(names)))
	if err != nil {
		return ctxErr(ctx, rn.r.errorf(rn.sess.tg, err, "entity %q: reading the type of the incremental column", o.entity))
	}
	defer rows.close()
	if cols := rows.columns(); len(cols) == 1 && cols[0].dbType == "TIMESTAMP" {
		rn.incUTC = true
	}
	return nil
}
