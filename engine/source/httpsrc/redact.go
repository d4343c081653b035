package httpsrc

import (
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/crmsync/crmsync/engine/redact"
	"github.com/crmsync/crmsync/engine/source"
)

// redactor hides secrets in every text a reader prints: the pipeline's
// secret values (env.Redact) and the values of secret query parameters.
type redactor struct {
	secretParams map[string]bool // lower-case names
	env          func(string) string

	mu      sync.Mutex
	runtime []string // credentials made while running: oauth2 tokens, Basic's base64
}

// remember adds the credential an Authorization header carries (an
// oauth2 access token, Basic's base64 of user:password), which is not a
// value of the pipeline file and so unknown to env.
func (r *redactor) remember(header string) {
	if header == "" {
		return
	}
	cred := header
	if _, after, ok := strings.Cut(header, " "); ok && after != "" {
		cred = after
	}
	r.rememberWhole(cred)
}

// rememberWhole adds a computed credential (a signed header's value).
func (r *redactor) rememberWhole(cred string) {
	if len(cred) < 8 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range redact.Forms(cred) { // echoed back escaped or encoded, too
		if !slices.Contains(r.runtime, f) {
			r.runtime = append(r.runtime, f)
		}
	}
	sort.SliceStable(r.runtime, func(i, j int) bool { return len(r.runtime[i]) > len(r.runtime[j]) })
}

// commonSecretParams are query names that carry credentials in many APIs;
// their values are hidden even when auth does not name them (a next URL
// that echoes a key back).
var commonSecretParams = []string{"access_token", "api_key", "apikey", "hapikey", "key", "token", "client_secret", "password", "signature", "sig"}

func newRedactor(names []string, env func(string) string) *redactor {
	r := &redactor{secretParams: map[string]bool{}, env: env}
	for _, n := range append(names, commonSecretParams...) {
		r.secretParams[strings.ToLower(n)] = true
	}
	return r
}

// text redacts a message.
func (r *redactor) text(s string) string {
	if r.env != nil {
		s = r.env(s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.runtime {
		s = strings.ReplaceAll(s, c, redact.Mark)
	}
	return s
}

// url prints u with secret query values as REDACTED and no user info.
func (r *redactor) url(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		parts := strings.Split(c.RawQuery, "&")
		for i, p := range parts {
			k, _, hasValue := strings.Cut(p, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if hasValue && r.secretParams[strings.ToLower(name)] {
				parts[i] = k + "=REDACTED"
			}
		}
		c.RawQuery = strings.Join(parts, "&")
	}
	return r.text(c.String())
}

// rawURL redacts a URL given as text (a next link from a body).
func (r *redactor) rawURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return r.text(s)
	}
	return r.url(u)
}

// SecretNames are the header and query parameter names whose values the
// auth settings make secret (api keys, signed headers), for the tools
// that print requests (source.SecretNamer).
func (o *opener) SecretNames() (headers, params []string) {
	return o.secretHeaders, o.secretParams
}

var _ source.SecretNamer = (*opener)(nil)

// RecordsPath is the full read's records path (source.RecordsPather).
func (o *opener) RecordsPath() string { return o.records }

var _ source.RecordsPather = (*opener)(nil)
