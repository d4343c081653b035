package httpsrc

import (
	"github.com/tidwall/gjson"
)

func init() {
	registerPager("page", pagerKind{keys: []string{"page_param", "start_page", "limit_param", "limit", "total_pages", "in"}, compile: compilePage})
}

// pageSpec: ?page=1, 2, … (or from 0), optionally with a page size.
type pageSpec struct {
	pageParam, limitParam, in string
	start, limit              int
	sendLimit                 bool
	totalPages                string // gjson path
}

func compilePage(pg *Paginate, pc *pagerCtx) pagerSpec {
	s := &pageSpec{pageParam: pg.PageParam, limitParam: pg.LimitParam, in: pc.where(pg.In), start: 1}
	if s.pageParam == "" {
		s.pageParam = "page"
	}
	if pg.StartPage != nil {
		s.start = *pg.StartPage
		if s.start != 0 && s.start != 1 {
			pc.errf(pc.at+"/start_page", "invalid-value", "start_page must be 0 or 1")
		}
	}
	if pg.Limit > 0 && s.limitParam == "" {
		pc.errf(pc.at+"/limit_param", "missing-setting", "pagination style page with limit needs limit_param: the query parameter of the page size (per_page, items_per_page, …)")
	}
	s.limit, s.sendLimit = pc.limit(pg, s.limitParam)
	if pg.TotalPages != "" && pc.path(pc.at+"/total_pages", "total_pages", pg.TotalPages) {
		s.totalPages = pg.TotalPages
	}
	return s
}

func (s *pageSpec) newPager() pager { return &pagePager{spec: s, page: s.start} }

type pagePager struct {
	spec          *pageSpec
	page, fetched int
	seen          int // records so far
}

func (p *pagePager) prepare(c *call) {
	c.putInt(p.spec.in, p.spec.pageParam, p.page)
	if p.spec.sendLimit {
		c.putInt(p.spec.in, p.spec.limitParam, p.spec.limit)
	}
}

// advance stops on an empty page, when total_pages or total is reached,
// or on a short page when the page size is known and no count says more.
func (p *pagePager) advance(r *pageResult) (bool, error) {
	p.fetched++
	p.page++
	p.seen += r.count
	if r.count == 0 {
		return false, nil
	}
	if p.spec.totalPages != "" {
		if tp := gjson.Get(r.body, p.spec.totalPages); tp.Exists() {
			return p.fetched < int(tp.Int()), nil
		}
	}
	if r.total >= 0 {
		return p.seen < r.total, nil
	}
	return p.spec.limit == 0 || r.count >= p.spec.limit, nil
}

var _ pager = (*pagePager)(nil)
