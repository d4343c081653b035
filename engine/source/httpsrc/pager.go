package httpsrc

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// pager walks the pages of one query. A new one is made for each query
// (each read, and each restart of a capped search).
type pager interface {
	// prepare sets the pager's part of the next page's request.
	prepare(c *call)
	// advance reads a page's response and reports whether another follows.
	advance(p *pageResult) (more bool, err error)
}

// pagerSpec is a compiled paginate block; it makes pagers.
type pagerSpec interface {
	newPager() pager
}

// pageResult is what a pager learns from one page.
type pageResult struct {
	number int
	body   string
	header http.Header
	url    *url.URL // the request's URL, for relative next links
	count  int      // records on the page
	total  int      // records in all, from paginate.total; -1 when unknown
	redact *redactor
	// allowed reports whether an origin other than the first page's is in
	// allow_origins.
	allowed func(origin string) bool
}

// pagerCtx is what a style's compile step may look at.
type pagerCtx struct {
	*problems
	at     string // JSON pointer of the paginate block
	method string
	params map[string]string // the entity's query parameters
}

// pagerKind is one pagination style: the settings it reads (besides the
// shared ones) and its compile step.
type pagerKind struct {
	keys    []string
	compile func(pg *Paginate, pc *pagerCtx) pagerSpec
}

var pagerKinds = map[string]pagerKind{}

// registerPager makes a pagination style available; each style's file
// registers its own from init. It panics on a duplicate.
func registerPager(style string, k pagerKind) {
	if _, dup := pagerKinds[style]; dup {
		panic("httpsrc: registerPager called twice for " + style)
	}
	pagerKinds[style] = k
}

// PagerStyles lists the registered pagination styles, sorted (for the
// JSON Schema and the docs).
func PagerStyles() []string { return pagerStyles() }

// Places are where a parameter (a cursor, a watermark) may go: in: query,
// body or header.
var Places = []string{"query", "body", "header"}

// sharedPageKeys are read whatever the style.
var sharedPageKeys = []string{"style", "total", "has_more", "max_pages", "max_empty_pages", "restart_after", "restart_watermark"}

// defaultMaxEmpty is how many pages in a row without records end the
// paging: a server that keeps handing out new cursors for empty pages is
// otherwise paged forever.
const defaultMaxEmpty = 3

func (o *opener) compilePaginate(pg *Paginate, at string, req *Request, p *problems) {
	if pg == nil {
		pg = &Paginate{Style: "none"}
	}
	pc := &pagerCtx{problems: p, at: at, method: o.req.method, params: req.Params}
	style := pg.Style
	if style == "" {
		p.errf(at+"/style", "missing-setting", "paginate needs style: one of %s", strings.Join(pagerStyles(), ", "))
		return
	}
	k, ok := pagerKinds[style]
	if !ok {
		p.errf(at+"/style", "invalid-value", "unknown pagination style %q: want one of %s", style, strings.Join(pagerStyles(), ", "))
		return
	}
	for _, key := range setPageKeys(pg) {
		if !slices.Contains(sharedPageKeys, key) && !slices.Contains(k.keys, key) {
			p.warnf(at+"/"+key, "unused-setting", "%s is not read by pagination style %s", key, style)
		}
	}
	o.pager = k.compile(pg, pc)
	if pg.Total != "" && p.path(at+"/total", "total", pg.Total) {
		o.rules.total = pg.Total
	}
	if pg.HasMore != "" && p.path(at+"/has_more", "has_more", pg.HasMore) {
		o.rules.hasMore = pg.HasMore
	}
	if pg.MaxPages < 0 {
		p.errf(at+"/max_pages", "invalid-value", "max_pages must be 0 (no limit) or more")
	}
	o.rules.maxPages = pg.MaxPages
	o.rules.maxEmpty = defaultMaxEmpty
	switch {
	case pg.MaxEmptyPages < 0:
		p.errf(at+"/max_empty_pages", "invalid-value", "max_empty_pages must be 1 or more, or 0 for the default (%d)", defaultMaxEmpty)
	case pg.MaxEmptyPages > 0:
		o.rules.maxEmpty = pg.MaxEmptyPages
	}
	switch {
	case pg.RestartAfter < 0:
		p.errf(at+"/restart_after", "invalid-value", "restart_after must be above 0")
	case pg.RestartAfter > 0 && pg.RestartWatermark == "":
		p.errf(at+"/restart_watermark", "missing-setting", "restart_after needs restart_watermark: the gjson path, in each record, of the field the query sorts on")
	case pg.RestartAfter > 0:
		if p.path(at+"/restart_watermark", "restart_watermark", pg.RestartWatermark) {
			o.restart = &restartSpec{after: pg.RestartAfter, path: pg.RestartWatermark, format: o.format}
		}
	case pg.RestartWatermark != "":
		p.warnf(at+"/restart_watermark", "unused-setting", "restart_watermark is only read together with restart_after")
	}
}

// where checks an in: setting (query, body or header).
func (pc *pagerCtx) where(in string) string {
	switch in {
	case "":
		return "query"
	case "query", "header":
		return in
	case "body":
		if pc.method == "GET" {
			pc.errf(pc.at+"/in", "invalid-value", "in: body needs request method: POST")
		}
		return in
	}
	pc.errf(pc.at+"/in", "invalid-value", "in %q is not a place for a parameter: want query, body or header", in)
	return "query"
}

// limit finds the page size: paginate.limit, else a number the entity
// already sends in limitParam. 0 when unknown.
func (pc *pagerCtx) limit(pg *Paginate, limitParam string) (n int, send bool) {
	if pg.Limit < 0 {
		pc.errf(pc.at+"/limit", "invalid-value", "limit must be 1 or more")
	}
	if pg.Limit > 0 {
		return pg.Limit, true
	}
	if v, ok := pc.params[limitParam]; ok && limitParam != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return n, false
		}
	}
	return 0, false
}

func pagerStyles() []string {
	out := make([]string, 0, len(pagerKinds))
	for k := range pagerKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// setPageKeys lists the paginate settings the file gives.
func setPageKeys(pg *Paginate) []string {
	var out []string
	add := func(key string, set bool) {
		if set {
			out = append(out, key)
		}
	}
	add("offset_param", pg.OffsetParam != "")
	add("page_param", pg.PageParam != "")
	add("limit_param", pg.LimitParam != "")
	add("limit", pg.Limit != 0)
	add("start_page", pg.StartPage != nil)
	add("total_pages", pg.TotalPages != "")
	add("cursor", pg.Cursor != "")
	add("param", pg.Param != "")
	add("in", pg.In != "")
	add("next_url", pg.NextURL != "")
	return out
}
