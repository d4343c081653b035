package httpsrc

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

func init() {
	registerPager("keyset", "The next page starts after the last record of this one: a value of that record (its id) goes back as a parameter, as Stripe's starting_after, Shopify's since_id and GitHub's since do. Reading stops on an empty page, on a page shorter than limit, or when has_more says so.", compileKeyset)
}

// keysetConfig is the keys of style keyset.
type keysetConfig struct {
	Key        string `yaml:"key" desc:"gjson path, in each record, of the value the next page starts after (Stripe, Shopify: id). The API must return records in order of it."`
	Param      string `yaml:"param" desc:"Name of the query parameter, body key or header that carries the last record's value (Stripe: starting_after; Shopify: since_id)."`
	In         string `yaml:"in" enum:"query,body,header" desc:"Where the value and the page size go (default query)."`
	Limit      int    `yaml:"limit" minimum:"1" desc:"Page size to ask for, sent as limit_param; a shorter page is the last. Without it, a number the request already sends in limit_param; without either, reading stops on an empty page or at has_more."`
	LimitParam string `yaml:"limit_param" desc:"Query parameter for the page size (default limit)."`
}

// keysetSpec: ?limit=100, then ?starting_after=<id of the last record>&limit=100, …
type keysetSpec struct {
	key, param, in, limitParam string
	limit                      int
	sendLimit                  bool
}

func compileKeyset(c *keysetConfig, _ *Paginate, pc *pagerCtx) pagerSpec {
	s := &keysetSpec{key: c.Key, param: c.Param, in: pc.where(c.In), limitParam: c.LimitParam}
	if s.key == "" {
		pc.errf(pc.at+"/key", "missing-setting", "pagination style keyset needs key: the gjson path, in each record, of the value the next page starts after (Stripe: id)")
	} else {
		pc.path(pc.at+"/key", "key", s.key)
	}
	if s.param == "" {
		pc.errf(pc.at+"/param", "missing-setting", "pagination style keyset needs param: the name of the query parameter, body key or header that carries the last record's value (Stripe: starting_after)")
	}
	if s.limitParam == "" {
		s.limitParam = "limit"
	}
	s.limit, s.sendLimit = pc.limit(c.Limit, s.limitParam)
	return s
}

func (s *keysetSpec) newPager() pager { return &keysetPager{spec: s, seen: newSeenSet()} }

type keysetPager struct {
	spec  *keysetSpec
	after gjson.Result // the last record's value; none before the first page
	seen  seenSet
}

func (p *keysetPager) prepare(c *call) {
	if p.after.Exists() {
		c.putResult(p.spec.in, p.spec.param, p.after)
	}
	if p.spec.sendLimit {
		c.putInt(p.spec.in, p.spec.limitParam, p.spec.limit)
	}
}

// advance stops on an empty or short page. A last record without the
// key, or a value seen before, fails the read: paging on would skip or
// repeat records.
func (p *keysetPager) advance(r *pageResult) (bool, error) {
	if r.count == 0 || len(r.records) == 0 {
		return false, nil
	}
	v := gjson.Get(r.records[len(r.records)-1].JSON, p.spec.key)
	if !v.Exists() || v.Type == gjson.Null || v.String() == "" {
		return false, fmt.Errorf("the last record of the page has no %s to start the next page after", p.spec.key)
	}
	if !p.seen.add(v.String()) {
		return false, fmt.Errorf("the last record's %s %q is the one of an earlier page; stopping instead of looping", p.spec.key, v.String())
	}
	p.after = gjson.Parse(strings.Clone(v.Raw)) // the page's text is not kept
	return p.spec.limit == 0 || r.count >= p.spec.limit, nil
}

var _ pager = (*keysetPager)(nil)
