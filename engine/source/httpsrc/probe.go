package httpsrc

import (
	"context"
	"errors"
	"net/http"

	"github.com/crmsync/crmsync/engine/source"
	"golang.org/x/time/rate"
)

// Probe adjusts one reader opened by OpenProbe. crmsync preview, check and
// test use it to see, record or replay an entity's HTTP exchanges.
type Probe struct {
	// Wrap wraps the transport of the reader's own HTTP client; every
	// request of the reader goes through it, oauth2 token fetches included.
	Wrap func(http.RoundTripper) http.RoundTripper
	// Attempts, when above 0, replaces retry.attempts.
	Attempts int
	// Unlimited drops the rate limits: a replay of recorded pages needs
	// no spacing.
	Unlimited bool
}

// ErrNotHTTP is returned by OpenProbe for an opener of another source type.
var ErrNotHTTP = errors.New("not an http source")

// OpenProbe opens a reader like Open, but with a client (and so an oauth2
// token) of its own instead of the source's shared one, so that wrapping
// its transport touches no other reader.
func OpenProbe(ctx context.Context, op source.Opener, env *source.Env, p Probe) (source.Reader, error) {
	o, ok := op.(*opener)
	if !ok {
		return nil, ErrNotHTTP
	}
	oc := *o
	if p.Attempts > 0 {
		oc.retry.attempts = p.Attempts
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
	r.auth = oc.auth(r.st, &openEnv{timeout: oc.timeout})
	if p.Unlimited {
		r.src, r.ent = &bucket{lim: rate.NewLimiter(rate.Inf, 1)}, nil
	}
	return r, nil
}
