package httpsrc

import (
	"fmt"

	"github.com/tidwall/gjson"
)

func init() {
	registerPager("next_url", "The body holds the next page's URL, full or relative.", compileNextURL)
}

// nextURLConfig is the keys of style next_url.
type nextURLConfig struct {
	NextURL string `yaml:"next_url" desc:"gjson path of the next page's full URL in the body."`
}

// nextURLSpec: the body holds the next page's URL, full or relative.
type nextURLSpec struct{ path string }

func compileNextURL(c *nextURLConfig, _ *Paginate, pc *pagerCtx) pagerSpec {
	if c.NextURL == "" {
		pc.errf(pc.at+"/next_url", "missing-setting", "pagination style next_url needs next_url: the gjson path of the next page's URL in the body")
	} else {
		pc.path(pc.at+"/next_url", "next_url", c.NextURL)
	}
	return &nextURLSpec{path: c.NextURL}
}

func (s *nextURLSpec) newPager() pager {
	return &linkPager{next: func(r *pageResult) string { return gjson.Get(r.body, s.path).String() }, seen: newSeenSet()}
}

// linkPager follows links to the next page, wherever they come from.
type linkPager struct {
	next    func(r *pageResult) string
	url     string
	foreign bool   // url is on another origin, one of allow_origins
	home    string // the origin of the first page
	seen    seenSet
	started bool
}

func (p *linkPager) prepare(c *call) { c.url, c.foreign = p.url, p.foreign }

func (p *linkPager) advance(r *pageResult) (bool, error) {
	if !p.started {
		p.started = true
		p.home = originOf(r.url)
		p.seen.add(r.url.String()) // a link back to the first page is a loop too
	}
	link := p.next(r)
	if link == "" {
		return false, nil
	}
	u, err := r.url.Parse(link) // relative links resolve against this page's URL
	if err != nil {
		return false, fmt.Errorf("the next page's URL %q is not a URL: %w", r.redact.rawURL(link), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return false, fmt.Errorf("the next page's URL %q is not an http(s) URL", r.redact.rawURL(link))
	}
	origin := originOf(u)
	if origin != p.home && (r.allowed == nil || !r.allowed(origin)) {
		return false, fmt.Errorf("next link goes to another origin, from %s to %s; not followed (list %s in source.allow_origins to follow it without credentials)", r.redact.url(r.url), r.redact.url(u), origin)
	}
	p.foreign = origin != p.home
	abs := u.String()
	if !p.seen.add(abs) {
		return false, fmt.Errorf("the server returned the same next URL %q twice; stopping instead of looping", r.redact.url(u))
	}
	p.url = abs
	return true, nil
}

var _ pager = (*linkPager)(nil)
