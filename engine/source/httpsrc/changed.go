package httpsrc

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync/engine/jsontext"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// changed_when: before the read, one request whose value (a gjson path
// into its body: a file's modifiedTime, an ETag-like version) the runner
// compares with the value stored with the entity's last complete sync;
// the same value skips the read. It is the generic form of the GitHub
// source's skip of a file whose blob sha did not change.

// changeSpec is a compiled changed_when.
type changeSpec struct {
	o     *opener // the probe's request, with the entity's client, auth and limits
	value string
}

var _ source.ChangeProber = (*reader)(nil)

func compileChangedWhen(spec *source.Spec, p *problems, base *opener, cw *ChangedWhen) *changeSpec {
	at := spec.Path + "/changed_when"
	if spec.Entity.Parent != nil {
		p.errf(at, "invalid-value", "changed_when does not apply to an entity read per parent record")
	}
	if cw.Request == nil || cw.Request.Path == "" {
		p.errf(at+"/request/path", "missing-setting", "changed_when needs request: {path: …}: the cheap request whose value tells whether the data changed")
	}
	if cw.Value == "" {
		p.errf(at+"/value", "missing-setting", "changed_when needs value: the gjson path of the value in the probe's body (modifiedTime)")
	} else {
		p.path(at+"/value", "changed_when.value", cw.Value)
	}
	req := cw.Request
	if req == nil {
		req = &Request{}
	}
	c := *base
	c.inc, c.rows, c.restart = nil, nil, nil
	c.compileRequest(spec, p, variant{req: req, at: at + "/request", recAt: at, pgAt: at})
	c.req.incParam, c.req.incIn = "", "" // the probe never carries the watermark
	return &changeSpec{o: &c, value: cw.Value}
}

// ProbeChange implements source.ChangeProber: one request, no paging.
func (r *reader) ProbeChange(ctx context.Context) (string, bool, error) {
	cs := r.o.change
	if cs == nil {
		return "", false, nil
	}
	pr := *r
	pr.o = cs.o
	v := pr.vars(source.ReadState{})
	var c call
	pr.o.pager.newPager().prepare(&c)
	res, err := pr.fetch(ctx, &v, &c, 1)
	if err != nil {
		return "", true, fmt.Errorf("changed_when: %w", err)
	}
	val := gjson.Get(res.body, cs.value)
	if !val.Exists() || val.Type == gjson.Null {
		return "", true, fmt.Errorf("changed_when: %w", pr.pageErr(res, step{job: "probe"}, fmt.Sprintf("the value path %q is not in the body (top-level keys: %s)", cs.value, jsontext.TopKeys(gjson.Parse(res.body))), false))
	}
	if val.Type == gjson.String {
		return val.String(), true, nil
	}
	return val.Raw, true, nil
}
