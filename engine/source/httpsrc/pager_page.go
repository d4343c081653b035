package httpsrc

import (
	"github.com/tidwall/gjson"
)

func init() {
	registerPager("page", "?page=1, 2, … (or from 0), optionally with a page size.", compilePage)
}

// pageConfig is the keys of style page.
type pageConfig struct {
	PageParam  string `yaml:"page_param" desc:"Query parameter (or body key, header) for the page number (default page)."`
	LimitParam string `yaml:"limit_param" desc:"Query parameter for the page size (required with limit)."`
	Limit      int    `yaml:"limit" minimum:"1" desc:"Page size to ask for; without it, a number the request already sends in limit_param."`
	StartPage  *int   `yaml:"start_page" minimum:"0" maximum:"1" desc:"Number of the first page, 0 or 1 (default 1)."`
	TotalPages string `yaml:"total_pages" desc:"gjson path of the total page count in the body."`
	In         string `yaml:"in" enum:"query,body,header" desc:"Where page and limit go (default query)."`
}

// pageSpec: ?page=1, 2, … (or from 0), optionally with a page size.
type pageSpec struct {
	pageParam, limitParam, in string
	start, limit              int
	sendLimit                 bool
	totalPages                string // gjson path
}

func compilePage(c *pageConfig, pg *Paginate, pc *pagerCtx) pagerSpec {
	s := &pageSpec{pageParam: c.PageParam, limitParam: c.LimitParam, in: pc.where(c.In), start: 1}
	if s.pageParam == "" {
		s.pageParam = "page"
	}
	if c.StartPage != nil {
		s.start = *c.StartPage
		if s.start != 0 && s.start != 1 {
			pc.errf(pc.at+"/start_page", "invalid-value", "start_page must be 0 or 1")
		}
	}
	if c.Limit > 0 && s.limitParam == "" {
		pc.errf(pc.at+"/limit_param", "missing-setting", "pagination style page with limit needs limit_param: the query parameter of the page size (per_page, items_per_page, …)")
	}
	s.limit, s.sendLimit = pc.limit(c.Limit, s.limitParam)
	if c.TotalPages != "" && pc.path(pc.at+"/total_pages", "total_pages", c.TotalPages) {
		s.totalPages = c.TotalPages
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
