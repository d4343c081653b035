package httpsrc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// namedTemplate is a query parameter or header whose value is a template.
type namedTemplate struct {
	name string
	t    template
}

// requestSpec is an entity's request, compiled.
type requestSpec struct {
	method  string
	base    string // base_url without a trailing slash
	path    template
	params  []namedTemplate
	headers []namedTemplate // source headers, then the entity's
	body    *bodyNode
	xmlBody *template // an XML text body (format: xml); values XML-escaped
	xml     bool      // format: xml: Accept asks for XML
	// incremental: where the watermark goes ("" when it is not sent).
	incParam, incIn string
}

// call is the pager's part of one page's request.
type call struct {
	url string // a full URL that replaces the entity's own (next_url, link_header)
	// foreign: url is on an origin of allow_origins, not the entity's own;
	// the request goes without credentials.
	foreign bool
	query   []kv
	header  []kv
	body    []bodyKV
}

type kv struct{ k, v string }

// put places a string value in the query, a header or the body.
func (c *call) put(in, name, value string) {
	switch in {
	case "header":
		c.header = append(c.header, kv{name, value})
	case "body":
		c.body = append(c.body, bodyKV{name, gjson.AppendJSONString(nil, value)})
	default:
		c.query = append(c.query, kv{name, value})
	}
}

// putInt places a number; in the body it stays a JSON number.
func (c *call) putInt(in, name string, n int) {
	if in == "body" {
		c.body = append(c.body, bodyKV{name, strconv.AppendInt(nil, int64(n), 10)})
		return
	}
	c.put(in, name, strconv.Itoa(n))
}

// putResult places a value read from a body, keeping numbers numbers.
func (c *call) putResult(in, name string, r gjson.Result) {
	if in == "body" && r.Type == gjson.Number {
		c.body = append(c.body, bodyKV{name, []byte(r.Raw)})
		return
	}
	c.put(in, name, r.String())
}

// build makes the HTTP request of one page. Auth is applied by the caller.
func (rs *requestSpec) build(ctx context.Context, v *vars, c *call, userAgent string) (*http.Request, error) {
	var u *url.URL
	var err error
	if c.url != "" {
		if u, err = url.Parse(c.url); err != nil {
			return nil, fmt.Errorf("parsing next URL: %w", err)
		}
	} else {
		p, empty := rs.path.render(v, url.PathEscape)
		if empty != "" {
			return nil, fmt.Errorf("request path %q: %s is empty", rs.path.src, empty)
		}
		if !isAbsURL(p) {
			p = rs.base + "/" + strings.TrimPrefix(p, "/")
		}
		if u, err = url.Parse(p); err != nil {
			return nil, fmt.Errorf("request URL %q: %w", p, err)
		}
		q := u.Query()
		for i := range rs.params {
			if s, _ := rs.params[i].t.render(v, nil); s != "" {
				q.Set(rs.params[i].name, s)
			}
		}
		if rs.incIn == "query" && v.watermark != "" {
			q.Set(rs.incParam, v.watermark)
		}
		for _, p := range c.query {
			q.Set(p.k, p.v)
		}
		u.RawQuery = q.Encode()
	}
	if c.url != "" {
		for _, p := range c.query {
			setQuery(u, p.k, p.v)
		}
	}

	var body []byte
	extra := c.body
	if rs.incIn == "body" && v.watermark != "" {
		extra = append([]bodyKV{{rs.incParam, gjson.AppendJSONString(nil, v.watermark)}}, extra...)
	}
	if rs.xmlBody != nil {
		if len(extra) > 0 {
			return nil, fmt.Errorf("an XML request body cannot take %q: put {{ }} variables in the XML instead", extra[0].key)
		}
		s, _ := rs.xmlBody.render(v, xmlEscape)
		body = []byte(s)
	} else if rs.body != nil {
		body = rs.body.appendTo(nil, v, extra)
	} else if len(extra) > 0 {
		body = (&bodyNode{}).appendTo(nil, v, extra)
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body) // NewRequest sets ContentLength and GetBody
	}
	req, err := http.NewRequestWithContext(ctx, rs.method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("request URL %q: %w", u.Redacted(), err)
	}
	switch {
	case rs.xmlBody != nil:
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	case body != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if rs.xml {
		req.Header.Set("Accept", "application/atom+xml, application/xml, text/xml")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", userAgent)
	for i := range rs.headers {
		if s, _ := rs.headers[i].t.render(v, nil); s != "" {
			req.Header.Set(rs.headers[i].name, s)
		}
	}
	if rs.incIn == "header" && v.watermark != "" {
		req.Header.Set(rs.incParam, v.watermark)
	}
	for _, h := range c.header {
		req.Header.Set(h.k, h.v)
	}
	return req, nil
}

// setQuery sets one query parameter, keeping the rest of the raw query
// as the server wrote it.
func setQuery(u *url.URL, k, v string) {
	q, err := url.ParseQuery(u.RawQuery)
	if err == nil && q.Has(k) {
		q.Set(k, v)
		u.RawQuery = q.Encode()
		return
	}
	pair := url.QueryEscape(k) + "=" + url.QueryEscape(v)
	if u.RawQuery == "" {
		u.RawQuery = pair
	} else {
		u.RawQuery += "&" + pair
	}
}

func isAbsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}
