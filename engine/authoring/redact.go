package authoring

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// Redactor removes secrets from exchanges before they are shown or
// stored: the pipeline's secret values, auth headers, secret query and
// form parameters, and tokens in token responses.
type Redactor struct {
	plan    func(string) string
	params  map[string]bool // lower-case query and form names
	headers map[string]bool // canonical names of secret headers
}

// Redacted replaces a secret value.
const Redacted = "[redacted]"

var (
	// secretParams are query and form names that carry credentials in
	// many APIs; their values are replaced even when auth does not name them.
	secretParams = []string{"access_token", "api_key", "apikey", "hapikey", "key", "token", "client_secret",
		"refresh_token", "password", "signature", "sig", "code", "id_token"}
	secretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key", "X-Auth-Token", "X-Auth-Key", "X-Amz-Security-Token"}
	// noiseHeaders change from run to run or are the transport's business.
	noiseHeaders = map[string]bool{"User-Agent": true, "Accept-Encoding": true, "Content-Length": true, "Date": true,
		"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Retry-After": true, "Age": true, "Expires": true,
		// An AWS SigV4 request's signing time (its signature is in Authorization).
		"X-Amz-Date": true}
	tokenKeys = []string{"access_token", "refresh_token", "id_token", "client_secret", "password"}
)

// NewRedactor returns the redactor of a plan.
func NewRedactor(plan *pipeline.Plan) *Redactor {
	r := &Redactor{plan: plan.Redact, params: map[string]bool{}, headers: map[string]bool{}}
	for _, p := range secretParams {
		r.params[p] = true
	}
	for _, h := range secretHeaders {
		r.headers[h] = true
	}
	for _, e := range plan.Entities {
		sn, ok := e.Source.(source.SecretNamer)
		if !ok {
			continue
		}
		headers, params := sn.SecretNames()
		for _, name := range headers {
			r.headers[http.CanonicalHeaderKey(name)] = true
		}
		for _, name := range params {
			r.params[strings.ToLower(name)] = true
		}
	}
	return r
}

// Text redacts a message.
func (r *Redactor) Text(s string) string {
	if r == nil || r.plan == nil {
		return s
	}
	return r.plan(s)
}

// URL redacts a URL: secret parameter values become [redacted], user info goes.
func (r *Redactor) URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return r.Text(raw)
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = r.query(u.RawQuery)
	}
	return r.Text(u.String())
}

// query redacts the values of secret parameters, keeping the order.
func (r *Redactor) query(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && r.params[strings.ToLower(name)] {
			parts[i] = k + "=" + url.QueryEscape(Redacted)
		}
	}
	return strings.Join(parts, "&")
}

// Request converts a request whose body was read into b.
func (r *Redactor) Request(req *http.Request, b []byte) Request {
	out := Request{Method: req.Method, URL: r.URL(req.URL.String())}
	out.Header = headerMap(req.Header, func(name string) (string, bool) {
		if noiseHeaders[name] {
			return "", false
		}
		if r.headers[name] {
			return Redacted, true
		}
		return r.Text(req.Header.Get(name)), true
	})
	if isForm(req.Header.Get("Content-Type")) {
		out.Text = r.form(string(b))
		return out
	}
	setBody([]byte(r.Text(string(b))), &out.Body, &out.Text)
	return out
}

// Response converts a response whose (decoded) body is b.
func (r *Redactor) Response(resp *http.Response, b []byte) *Response {
	out := &Response{Status: resp.StatusCode}
	out.Header = headerMap(resp.Header, func(name string) (string, bool) {
		// Rate-limit headers would make a replay wait; they are not recorded.
		if noiseHeaders[name] || strings.Contains(strings.ToLower(name), "ratelimit") || name == "Content-Encoding" {
			return "", false
		}
		if r.headers[name] {
			return Redacted, true
		}
		return r.Text(resp.Header.Get(name)), true
	})
	body := r.Text(string(b))
	if isForm(resp.Header.Get("Content-Type")) {
		out.Text = r.form(body)
		return out
	}
	setBody([]byte(redactTokens(body)), &out.Body, &out.Text)
	return out
}

// form redacts a form body and sorts it, so that it compares stably.
func (r *Redactor) form(body string) string {
	v, err := url.ParseQuery(body)
	if err != nil {
		return r.Text(body)
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, val := range v[k] {
			if r.params[strings.ToLower(k)] {
				val = Redacted
			}
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(val))
		}
	}
	return r.Text(b.String())
}

// redactTokens replaces the values of top-level token keys of a JSON
// object (an oauth2 token response) in place.
func redactTokens(body string) string {
	for _, k := range tokenKeys {
		v := gjson.Get(body, k)
		if !v.Exists() || v.Index <= 0 {
			continue
		}
		body = body[:v.Index] + `"` + Redacted + `"` + body[v.Index+len(v.Raw):]
	}
	return body
}

func isForm(contentType string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/x-www-form-urlencoded")
}
