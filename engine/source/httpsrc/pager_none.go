package httpsrc

func init() {
	registerPager("none", "One page.", func(*struct{}, *Paginate, *pagerCtx) pagerSpec { return nonePager{} })
}

// nonePager reads one page.
type nonePager struct{}

func (nonePager) newPager() pager                   { return nonePager{} }
func (nonePager) prepare(*call)                     {}
func (nonePager) advance(*pageResult) (bool, error) { return false, nil }

var _ pager = nonePager{}
