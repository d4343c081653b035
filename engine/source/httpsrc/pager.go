package httpsrc

import (
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/source"
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
	// records are the page's records as fields read them (rows made
	// objects), for styles that page on a record's value.
	records []source.Record
	redact  *redactor
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

// pagerKind is one pagination style: the struct its own settings decode
// into (besides the shared ones in Paginate) and its compile step.
type pagerKind struct {
	desc    string
	config  reflect.Type
	compile func(cfg any, pg *Paginate, pc *pagerCtx) pagerSpec
}

var pagerKinds = map[string]pagerKind{}

// registerPager makes a pagination style available; each style's file
// registers its own from init, with what it is (desc, for the schema),
// the struct of its own keys (C: yaml tags, and desc, minimum, maximum
// and enum tags the schema is generated from; struct{} for none) and its
// compile step. It panics on a duplicate.
func registerPager[C any](style, desc string, compile func(c *C, pg *Paginate, pc *pagerCtx) pagerSpec) {
	if _, dup := pagerKinds[style]; dup {
		panic("httpsrc: registerPager called twice for " + style)
	}
	pagerKinds[style] = pagerKind{desc: desc, config: reflect.TypeFor[C](),
		compile: func(cfg any, pg *Paginate, pc *pagerCtx) pagerSpec { return compile(cfg.(*C), pg, pc) }}
}

// PagerStyles lists the registered pagination styles, sorted (for the
// JSON Schema and the docs).
func PagerStyles() []string { return pagerStyles() }

// PagerConfig returns what a pagination style is and the struct type of
// its own settings, for the JSON Schema.
func PagerConfig(style string) (desc string, config reflect.Type, ok bool) {
	k, ok := pagerKinds[style]
	return k.desc, k.config, ok
}

// Places are where a parameter (a cursor, a watermark) may go: in: query,
// body or header.
var Places = []string{"query", "body", "header"}

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
	// Keys of another style are the schema's to reject (it is generated
	// from each style's struct): here the style's own are decoded.
	cfg := reflect.New(k.config)
	if pg.Node != nil {
		if err := pg.Node.Decode(cfg.Interface()); err != nil {
			p.errf(at, "wrong-type", "paginate: %v", err)
			return
		}
	}
	o.pager = k.compile(cfg.Interface(), pg, pc)
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
func (pc *pagerCtx) limit(limit int, limitParam string) (n int, send bool) {
	if limit < 0 {
		pc.errf(pc.at+"/limit", "invalid-value", "limit must be 1 or more")
	}
	if limit > 0 {
		return limit, true
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
