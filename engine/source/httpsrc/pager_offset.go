package httpsrc

func init() {
	registerPager("offset", pagerKind{keys: []string{"offset_param", "limit_param", "limit", "in"}, compile: compileOffset})
}

// offsetSpec: ?offset=0&limit=100, then offset=100, … The offset moves by
// the records received, so a server that caps the page size loses nothing.
type offsetSpec struct {
	offsetParam, limitParam, in string
	limit                       int
	sendLimit                   bool
}

func compileOffset(pg *Paginate, pc *pagerCtx) pagerSpec {
	s := &offsetSpec{offsetParam: pg.OffsetParam, limitParam: pg.LimitParam, in: pc.where(pg.In)}
	if s.offsetParam == "" {
		s.offsetParam = "offset"
	}
	if s.limitParam == "" {
		s.limitParam = "limit"
	}
	s.limit, s.sendLimit = pc.limit(pg, s.limitParam)
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
