package httpsrc

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sourceState is what every entity of one source shares at run time: one
// HTTP client (so connections are reused), auth state such as an oauth2
// token. It lives for the process, keyed by pipeline and base URL, so a
// hot-reloaded plan keeps its connections and tokens.
type sourceState struct {
	client *http.Client

	mu    sync.Mutex
	auths map[string]authenticator
}

// bucket is a token bucket plus a gate that holds every request back
// until a time the server named (Retry-After, a rate-limit reset).
type bucket struct {
	lim *rate.Limiter // rate.Inf when no rate is set

	mu    sync.Mutex
	until time.Time
}

var (
	registryMu sync.Mutex
	states     = map[string]*sourceState{}
	buckets    = map[string]*bucket{}
)

// stateFor returns the shared state of a source.
func stateFor(key string) *sourceState {
	registryMu.Lock()
	defer registryMu.Unlock()
	if st := states[key]; st != nil {
		return st
	}
	st := &sourceState{client: newClient(), auths: map[string]authenticator{}}
	states[key] = st
	return st
}

// newClient makes the client of one source: keep-alive with enough idle
// connections per host for the entities that read at once.
func newClient() *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// sharedAuth returns the authenticator stored under key, making it once.
func (st *sourceState) sharedAuth(key string, mk func() authenticator) authenticator {
	st.mu.Lock()
	defer st.mu.Unlock()
	if a := st.auths[key]; a != nil {
		return a
	}
	a := mk()
	st.auths[key] = a
	return a
}

// bucketFor returns the bucket stored under key, set to the given rate
// (0: no rate, only the gate). A reloaded plan with a new rate updates
// the bucket in place, so readers still running share the new rate. A
// shared budget is only ever set by a pipeline that gives a rate.
func bucketFor(key string, perSecond float64, burst int, shared bool) *bucket {
	registryMu.Lock()
	defer registryMu.Unlock()
	b := buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Inf, 1)}
		buckets[key] = b
	}
	if shared && perSecond <= 0 {
		return b
	}
	limit := rate.Inf
	if perSecond > 0 {
		limit = rate.Limit(perSecond)
	}
	if burst <= 0 {
		// Evenly spaced by default: a full bucket at the start would
		// overrun a server that counts over a rolling window.
		burst = 1
	}
	if b.lim.Limit() != limit || b.lim.Burst() != burst {
		b.lim.SetLimit(limit)
		b.lim.SetBurst(burst)
	}
	return b
}

// wait blocks until the gate opens and the bucket has a token, and
// returns how long it was held back.
func (b *bucket) wait(ctx context.Context) (time.Duration, error) {
	b.mu.Lock()
	gate := time.Until(b.until)
	b.mu.Unlock()
	var waited time.Duration
	if gate > 0 {
		if err := sleep(ctx, gate); err != nil {
			return 0, err
		}
		waited = gate
	}
	res := b.lim.Reserve()
	if d := res.Delay(); d > 0 {
		if err := sleep(ctx, d); err != nil {
			res.Cancel()
			return waited, err
		}
		waited += d
	}
	return waited, nil
}

// hold keeps every request of the bucket back until t.
func (b *bucket) hold(t time.Time) {
	b.mu.Lock()
	if t.After(b.until) {
		b.until = t
	}
	b.mu.Unlock()
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
