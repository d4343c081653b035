package httpsrc

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// originOf is u's origin, scheme://host:port, lower case, with the
// scheme's default port written out: two URLs share an origin exactly
// when their origins are equal strings.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// allowed reports whether the file lets requests go to origin (without
// credentials).
func (o *opener) allowed(origin string) bool { return o.allow[origin] }

// maxRedirects is how many redirects one request follows.
const maxRedirects = 10

// redirectKey carries a request's *redirectPolicy in its context.
type redirectKey struct{}

// redirectPolicy is what checkRedirect knows of the request it follows.
type redirectPolicy struct {
	o       *opener
	red     *redactor
	foreign bool // the request itself went to an allowed other origin, without credentials
}

// redirectError is a redirect crmsync does not follow; it is not retried.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// checkRedirect is the CheckRedirect of every source client. A redirect
// stays on the origin of the first request, unless the target origin is
// in allow_origins: then it is followed without credentials (and so is
// every hop after it). A redirect that would change the method (a 303, or
// a 301/302 of a POST, which net/http turns into a GET without the body)
// is an error, and so is an 11th redirect.
func checkRedirect(req *http.Request, via []*http.Request) error {
	p, _ := req.Context().Value(redirectKey{}).(*redirectPolicy)
	if p == nil {
		p = &redirectPolicy{o: &opener{}, red: newRedactor(nil, nil)} // an oauth2 token fetch
	}
	prev := via[len(via)-1]
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	from, to := p.red.url(prev.URL), p.red.url(req.URL)
	if len(via) > maxRedirects {
		return &redirectError{fmt.Sprintf("more than %d redirects (the last: %d from %s to %s); not followed", maxRedirects, status, from, to)}
	}
	if req.Method != prev.Method {
		return &redirectError{fmt.Sprintf("redirect %d from %s to %s would turn the %s into a %s without its body; not followed", status, from, to, prev.Method, req.Method)}
	}
	home := originOf(via[0].URL)
	if origin := originOf(req.URL); origin != home && !p.o.allowed(origin) {
		return &redirectError{fmt.Sprintf("redirect %d goes to another origin, from %s to %s; not followed (list %s in source.allow_origins to follow it without credentials)", status, from, to, origin)}
	}
	crossed := p.foreign || originOf(req.URL) != home
	for _, v := range via[1:] {
		crossed = crossed || originOf(v.URL) != home
	}
	if crossed {
		stripCredentials(req, p.o.secretParams)
	}
	return nil
}

// keptHeaders are the only headers a request to another origin carries.
var keptHeaders = []string{"Accept", "User-Agent", "Content-Type"}

// stripCredentials leaves a request to another origin without
// credentials: no Authorization, no auth or configured headers (they may
// hold keys), no Referer (it holds the last URL's query), and none of the
// auth query parameters.
func stripCredentials(req *http.Request, secretParams []string) {
	for k := range req.Header {
		if !slices.Contains(keptHeaders, k) {
			delete(req.Header, k)
		}
	}
	stripQuery(req.URL, secretParams)
}

// stripQuery removes the named query parameters (case-insensitively),
// keeping the rest of the raw query as it was written.
func stripQuery(u *url.URL, names []string) {
	if u.RawQuery == "" || len(names) == 0 {
		return
	}
	parts := strings.Split(u.RawQuery, "&")
	parts = slices.DeleteFunc(parts, func(p string) bool {
		k, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(k); err == nil {
			k = n
		}
		return slices.ContainsFunc(names, func(s string) bool { return strings.EqualFold(s, k) })
	})
	u.RawQuery = strings.Join(parts, "&")
}
