package httpsrc

func init() {
	registerPager("offset", "?offset=0&limit=100, then offset=100, …: the offset moves by the records received.", compileOffset)
}

// offsetConfig is the keys of style offset.
type offsetConfig struct {
	OffsetParam string `yaml:"offset_param" desc:"Query parameter (or body key, header) for the offset (default offset)."`
	LimitParam  string `yaml:"limit_param" desc:"Query parameter for the page size (default limit)."`
	Limit       int    `yaml:"limit" minimum:"1" desc:"Page size to ask for; without it, a number the request already sends in limit_param. It tells a short last page, unless total is set."`
	In          string `yaml:"in" enum:"query,body,header" desc:"Where offset and limit go (default query)."`
}

// offsetSpec: ?offset=0&limit=100, then offset=100, … The offset moves by
// the records received, so a server that caps the page size loses nothing.
type offsetSpec struct {
	offsetParam, limitParam, in string
	limit                       int
	sendLimit                   bool
}

func compileOffset(c *offsetConfig, pg *Paginate, pc *pagerCtx) pagerSpec {
	s := &offsetSpec{offsetParam: c.OffsetParam, limitParam: c.LimitParam, in: pc.where(c.In)}
	if s.offsetParam == "" {
		s.offsetParam = "offset"
	}
	if s.limitParam == "" {
		s.limitParam = "limit"
	}
	s.limit, s.sendLimit = pc.limit(c.Limit, s.limitParam)
	if s.limit == 0 && pg.Total == "" {
		pc.errf(pc.at+"/limit", "missing-setting", "pagination style offset needs limit (the page size, sent as %s) to tell a short last page, or total (a gjson path of the record count)", s.limitParam)
	}
	return s
}

func (s *offsetSpec) newPager() pager { return &offsetPager{spec: s} }

type offsetPager struct {
	spec   *offsetSpec
	offset int
}

func (p *offsetPager) prepare(c *call) {
	c.putInt(p.spec.in, p.spec.offsetParam, p.offset)
	if p.spec.sendLimit {
		c.putInt(p.spec.in, p.spec.limitParam, p.spec.limit)
	}
}

// advance stops on an empty page, at the total when the body gives one
// (a short page in the middle is not the end), else on a short page. An
// exactly full last page costs one more request, which comes back empty.
func (p *offsetPager) advance(r *pageResult) (bool, error) {
	if r.count == 0 {
		return false, nil
	}
	p.offset += r.count
	if r.total >= 0 {
		return p.offset < r.total, nil
	}
	return p.spec.limit == 0 || r.count >= p.spec.limit, nil
}

var _ pager = (*offsetPager)(nil)
