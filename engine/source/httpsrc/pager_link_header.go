package httpsrc

func init() {
	registerPager("link_header", `The RFC 8288 Link header's rel="next" (GitHub).`,
		func(*struct{}, *Paginate, *pagerCtx) pagerSpec { return linkHeaderSpec{} })
}

// linkHeaderSpec follows the RFC 8288 Link header's rel="next" (GitHub).
type linkHeaderSpec struct{}

func (linkHeaderSpec) newPager() pager {
	return &linkPager{next: func(r *pageResult) string {
		return nextLink(r.header.Values("Link"))
	}, seen: newSeenSet()}
}
