package httpsrc

import (
	"context"

	"github.com/crmsync/crmsync/engine/source"
	"golang.org/x/time/rate"
)

// Probe adjusts one reader opened by OpenProbe (see source.Probe).
type Probe = source.Probe

var _ source.Prober = (*opener)(nil)

// OpenProbe implements source.Prober.
func (o *opener) OpenProbe(ctx context.Context, env *source.Env, p source.Probe) (source.Reader, error) {
	oc := *o
	if p.Attempts > 0 {
		oc.retry.attempts = p.Attempts
		if oc.inc != nil {
			ic := *oc.inc
			ic.retry.attempts = p.Attempts
			oc.inc = &ic
		}
	}
	if p.Unlimited && oc.job != nil {
		// A replay answers every poll at once: no wait between them.
		j := *oc.job
		j.every = 0
		oc.job = &j
		if oc.inc != nil {
			ic := *oc.inc
			ic.job = &j
			oc.inc = &ic
		}
	}
	rd, err := oc.Open(ctx, env)
	if err != nil {
		return nil, err
	}
	r := rd.(*reader)
	c := newClient()
	if p.Wrap != nil {
		c.Transport = p.Wrap(c.Transport)
	}
	r.st = &sourceState{client: c, auths: map[string]authenticator{}}
	r.client = c
	r.auth = oc.auth(r.st, &openEnv{timeout: oc.timeout})
	if p.Unlimited {
		r.src, r.ent = &bucket{lim: rate.NewLimiter(rate.Inf, 1)}, nil
	}
	return r, nil
}
