// Package authoring is the pipeline author's loop: read the first pages of
// an entity and map them without writing anything (crmsync preview),
// record the HTTP exchanges as fixtures and replay them offline against
// expected output (crmsync test), and say in plain words why an entity
// cannot be read (crmsync check).
package authoring

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Request is an HTTP request as crmsync shows and stores it: secrets
// replaced, noise headers left out.
type Request struct {
	Method string            `json:"method"`
	URL    string            `json:"url"`
	Header map[string]string `json:"headers,omitempty"`
	// Body is a JSON body; Text any other body (a form, for example).
	Body json.RawMessage `json:"body,omitempty"`
	Text string          `json:"body_text,omitempty"`
}

// Response is an HTTP response as crmsync shows and stores it.
type Response struct {
	Status int               `json:"status"`
	Header map[string]string `json:"headers,omitempty"`
	Body   json.RawMessage   `json:"body,omitempty"`
	Text   string            `json:"body_text,omitempty"`
}

// Exchange is one request and what came back: a response, or the
// transport error (DNS, TLS, refused, timeout) in Err.
type Exchange struct {
	Request  Request
	Response *Response
	Err      string
}

// OK reports whether the exchange got a 2xx response.
func (x *Exchange) OK() bool {
	return x.Response != nil && x.Response.Status >= 200 && x.Response.Status < 300
}

// BodyString is the response body as text ("" without a response).
func (x *Exchange) BodyString() string {
	if x.Response == nil {
		return ""
	}
	if x.Response.Body != nil {
		return string(x.Response.Body)
	}
	return x.Response.Text
}

// setBody stores a body as JSON when it is JSON, else as text.
func setBody(b []byte, js *json.RawMessage, text *string) {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return
	}
	if json.Valid(trimmed) {
		var buf bytes.Buffer
		if json.Compact(&buf, trimmed) == nil {
			*js = buf.Bytes()
			return
		}
	}
	if !utf8.Valid(b) {
		b = []byte(strings.ToValidUTF8(string(b), "\uFFFD"))
	}
	*text = string(b)
}

// headerMap flattens a header, keeping names in canonical form.
func headerMap(h http.Header, keep func(name string) (string, bool)) map[string]string {
	var m map[string]string
	for name, vals := range h {
		v, ok := keep(http.CanonicalHeaderKey(name))
		if !ok {
			continue
		}
		if v == "" {
			v = strings.Join(vals, ", ")
		}
		if m == nil {
			m = map[string]string{}
		}
		m[http.CanonicalHeaderKey(name)] = v
	}
	return m
}

// pathQuery is a URL without scheme and host: what fixtures store, so
// that the same fixture replays whatever the base URL.
func pathQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.RequestURI()
}
