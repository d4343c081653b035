package httpsrc

import (
	"net"
	"net/url"
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
