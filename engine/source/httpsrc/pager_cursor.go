package httpsrc

import (
	"fmt"
	"hash/maphash"

	"github.com/tidwall/gjson"
)

func init() {
	registerPager("cursor", "The body names the next cursor (HubSpot paging.next.after), which goes back as a query parameter, body key or header.", compileCursor)
}

// cursorConfig is the keys of style cursor.
type cursorConfig struct {
	Cursor string `yaml:"cursor" desc:"gjson path of the next cursor in the body (HubSpot: paging.next.after). Reading stops when it is missing or empty."`
	Param  string `yaml:"param" desc:"Name of the query parameter, body key or header that carries the cursor."`
	In     string `yaml:"in" enum:"query,body,header" desc:"Where the cursor goes (default query)."`
}

// cursorSpec: the body names the next cursor (HubSpot paging.next.after),
// which goes back as a query parameter, body key or header.
type cursorSpec struct {
	path, param, in string
}

func compileCursor(c *cursorConfig, _ *Paginate, pc *pagerCtx) pagerSpec {
	s := &cursorSpec{path: c.Cursor, param: c.Param, in: pc.where(c.In)}
	if s.path == "" {
		pc.errf(pc.at+"/cursor", "missing-setting", "pagination style cursor needs cursor: the gjson path of the next cursor in the body (HubSpot: paging.next.after)")
	} else {
		pc.path(pc.at+"/cursor", "cursor", s.path)
	}
	if s.param == "" {
		pc.errf(pc.at+"/param", "missing-setting", "pagination style cursor needs param: the name of the query parameter, body key or header that carries the cursor (HubSpot: after)")
	}
	return s
}

func (s *cursorSpec) newPager() pager { return &cursorPager{spec: s, seen: newSeenSet()} }

type cursorPager struct {
	spec   *cursorSpec
	cursor gjson.Result
	seen   seenSet
}

func (p *cursorPager) prepare(c *call) {
	if p.cursor.Exists() {
		c.putResult(p.spec.in, p.spec.param, p.cursor)
	}
}

// advance stops when the cursor is missing or empty, and fails when the
// server hands out a cursor it gave before: following it would loop.
func (p *cursorPager) advance(r *pageResult) (bool, error) {
	next := gjson.Get(r.body, p.spec.path)
	s := next.String()
	if !next.Exists() || next.Type == gjson.Null || s == "" {
		return false, nil
	}
	if !p.seen.add(s) {
		return false, fmt.Errorf("the server returned the same cursor %q twice; stopping instead of looping", s)
	}
	p.cursor = next
	return true, nil
}

// seenSet remembers values by hash, so a long walk costs 8 bytes a page.
type seenSet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

func newSeenSet() seenSet { return seenSet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}} }

// add reports whether s is new.
func (s seenSet) add(v string) bool {
	h := maphash.String(s.seed, v)
	if _, dup := s.m[h]; dup {
		return false
	}
	s.m[h] = struct{}{}
	return true
}

var _ pager = (*cursorPager)(nil)
