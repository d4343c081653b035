package httpsrc

import (
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/tidwall/gjson"
)

// A full read of an entity without incremental commits the pager's
// position with every batch (source.Page.Resume), so a read that fails
// half way continues from the last committed page on the next run
// instead of from the first. The position is a small JSON object:
//
//	{"key":"<hash of the query>","offset":150}
//	{"key":"…","page":4,"seen":150}
//	{"key":"…","cursor":"c2"}
//
// key ties it to the query it was read with: a position stored for
// another request, page size or style is dropped and the read starts
// over. next_url and link_header are not resumed: their links may carry
// expiring tokens or a server's session.

// resumer is a pager whose position can be stored and restored.
type resumer interface {
	// position appends the members that restore the pager to b, or
	// reports false when it cannot be restored.
	position(b []byte) ([]byte, bool)
	// resume restores a stored position.
	resume(state gjson.Result) error
}

// resumeKey hashes what a stored position depends on.
func resumeKey(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// rowsKey is the part of the resume key that rows settings make.
func rowsKey(s *rowsSpec) string {
	if s == nil {
		return ""
	}
	return s.key
}

// resumeText is the Resume of the page just read: where the next page
// starts. "" when there is no next page or it cannot be stored.
func (r *reader) resumeText(pg pager, sh *rowShaper) string {
	rp, ok := pg.(resumer)
	if !ok || !r.o.resumable {
		return ""
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"key":`...)
	b = strconv.AppendQuote(b, r.o.resumeKey)
	b = append(b, ',')
	b, ok = rp.position(b)
	if !ok {
		return ""
	}
	if sh != nil {
		b = sh.position(b)
	}
	return string(append(b, '}'))
}

// restore puts a new pager at a stored position; false when there is
// none to use (the read starts over).
func (r *reader) restore(pg pager, sh *rowShaper, resume string) (bool, error) {
	rp, ok := pg.(resumer)
	if resume == "" || !ok || !r.o.resumable {
		return false, nil
	}
	if !gjson.Valid(resume) {
		return false, fmt.Errorf("entity %q: the stored position %q is not JSON", r.o.entity, resume)
	}
	st := gjson.Parse(resume)
	if st.Get("key").String() != r.o.resumeKey {
		r.log.Warn("the stored position is for another query (request, page size or paging changed); reading from the start", "entity", r.o.entity)
		return false, nil
	}
	if sh != nil && !sh.resume(st) {
		r.log.Warn("the stored position has no header row names; reading from the start", "entity", r.o.entity)
		return false, nil
	}
	if err := rp.resume(st); err != nil {
		return false, fmt.Errorf("entity %q: restoring the stored position %q: %w", r.o.entity, resume, err)
	}
	return true, nil
}

func (p *offsetPager) position(b []byte) ([]byte, bool) {
	b = append(b, `"offset":`...)
	return strconv.AppendInt(b, int64(p.offset), 10), true
}

func (p *offsetPager) resume(st gjson.Result) error {
	o := st.Get("offset")
	if o.Type != gjson.Number || o.Int() < 0 {
		return fmt.Errorf("no offset")
	}
	p.offset = int(o.Int())
	return nil
}

func (p *pagePager) position(b []byte) ([]byte, bool) {
	b = append(b, `"page":`...)
	b = strconv.AppendInt(b, int64(p.page), 10)
	b = append(b, `,"fetched":`...)
	b = strconv.AppendInt(b, int64(p.fetched), 10)
	b = append(b, `,"seen":`...)
	return strconv.AppendInt(b, int64(p.seen), 10), true
}

func (p *pagePager) resume(st gjson.Result) error {
	pg := st.Get("page")
	if pg.Type != gjson.Number || pg.Int() < int64(p.spec.start) {
		return fmt.Errorf("no page")
	}
	p.page, p.fetched, p.seen = int(pg.Int()), int(st.Get("fetched").Int()), int(st.Get("seen").Int())
	return nil
}

func (p *cursorPager) position(b []byte) ([]byte, bool) {
	if !p.cursor.Exists() {
		return b, false
	}
	b = append(b, `"cursor":`...)
	return append(b, p.cursor.Raw...), true
}

func (p *cursorPager) resume(st gjson.Result) error {
	c := st.Get("cursor")
	if !c.Exists() || c.Type == gjson.Null {
		return fmt.Errorf("no cursor")
	}
	p.cursor = gjson.Parse(c.Raw)
	p.seen.add(p.cursor.String())
	return nil
}

var (
	_ resumer = (*offsetPager)(nil)
	_ resumer = (*pagePager)(nil)
	_ resumer = (*cursorPager)(nil)
)
