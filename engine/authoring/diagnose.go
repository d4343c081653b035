package authoring

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"sort"
	"strings"
	"syscall"

	"github.com/crmsync/crmsync/engine/jsontext"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// Diagnosis says in plain words why an entity could not be read.
type Diagnosis struct {
	// Network: the failure came before any HTTP status (the error text
	// then says more than the details).
	Network bool `json:"-"`
	// Class is a stable name: dns, tls, refused, reset, timeout,
	// unauthorized, forbidden, not-found, bad-request, rate-limited,
	// server-error, http-error, not-json, records-path, sql-auth,
	// sql-database, sql-table, file-missing, other.
	Class string `json:"class"`
	// Summary is one line; Details are more lines (the server's message,
	// what to check).
	Summary string   `json:"summary"`
	Details []string `json:"details,omitempty"`
}

// Hint is what a diagnosis may name besides the error.
type Hint struct {
	// Records is the entity's records path ("" when the body is the array).
	Records string
	// Source is the entity's source: one that can explain its own
	// errors (source.Diagnoser) is asked.
	Source source.Opener
}

// Diagnose explains a read error, using the exchanges of the read (the
// last response's status and body say more than the error text). The
// error and exchanges must already be redacted.
func Diagnose(err error, xs []Exchange, h Hint) Diagnosis {
	if d, ok := networkDiagnosis(err); ok {
		d.Network = true
		return d
	}
	if n := len(xs); n > 0 && xs[n-1].Response != nil {
		x := xs[n-1]
		if !x.OK() {
			return statusDiagnosis(x)
		}
		if d, ok := bodyDiagnosis(x, h); ok {
			return d
		}
	}
	if dg, ok := h.Source.(source.Diagnoser); ok && err != nil {
		if d, ok := dg.Diagnose(err); ok {
			return Diagnosis{Class: d.Class, Summary: d.Summary, Details: d.Details}
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return Diagnosis{Class: "file-missing", Summary: "a file the source names does not exist", Details: []string{err.Error()}}
	}
	return Diagnosis{Class: "other", Summary: firstLine(err.Error())}
}

// networkDiagnosis covers failures before any HTTP status: DNS, TLS,
// refused and reset connections, timeouts.
func networkDiagnosis(err error) (Diagnosis, bool) {
	if err == nil {
		return Diagnosis{}, false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return Diagnosis{Class: "dns", Summary: fmt.Sprintf("the host name %q does not exist (DNS lookup failed)", dns.Name),
				Details: []string{"check base_url (or the DSN's host) for a typo; is the ${env:…} variable that sets it right?"}}, true
		}
		return Diagnosis{Class: "dns", Summary: fmt.Sprintf("the host name %q could not be looked up: %s", dns.Name, dns.Err),
			Details: []string{"is this machine online, and is its DNS server reachable?"}}, true
	}
	if d, ok := tlsDiagnosis(err); ok {
		return d, true
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return Diagnosis{Class: "refused", Summary: "the connection was refused: nothing is listening at " + addrOf(err),
			Details: []string{"is the server running, and are the host and port in base_url (or the DSN) right?"}}, true
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return Diagnosis{Class: "reset", Summary: "the server closed the connection mid-request",
			Details: []string{"a proxy or firewall may be in the way, or the server speaks another protocol on this port"}}, true
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return Diagnosis{Class: "timeout", Summary: "no answer in time (timed out)",
			Details: []string{"the server may be slow or unreachable from here (a firewall that drops packets looks like this); source.timeout sets the limit"}}, true
	}
	return Diagnosis{}, false
}

func tlsDiagnosis(err error) (Diagnosis, bool) {
	var (
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		alert   tls.AlertError
	)
	switch {
	case errors.As(err, &host):
		return Diagnosis{Class: "tls", Summary: "TLS failed: the server's certificate is for another host name",
			Details: []string{host.Error(), "check the host in base_url"}}, true
	case errors.As(err, &invalid):
		return Diagnosis{Class: "tls", Summary: "TLS failed: the server's certificate is not valid (" + invalid.Error() + ")"}, true
	case errors.As(err, &unknown), errors.As(err, &verify):
		return Diagnosis{Class: "tls", Summary: "TLS failed: the server's certificate is not trusted by this machine",
			Details: []string{"it is self-signed or signed by an unknown authority; a company proxy that inspects TLS does this too (add its CA to the system's trust store)"}}, true
	case errors.As(err, &record):
		return Diagnosis{Class: "tls", Summary: "TLS failed: the server does not speak TLS on this port",
			Details: []string{"use http:// instead of https:// in base_url, or the server's TLS port"}}, true
	case errors.As(err, &alert):
		return Diagnosis{Class: "tls", Summary: "TLS failed: the server refused the handshake (" + alert.Error() + ")"}, true
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return Diagnosis{Class: "tls", Summary: "TLS failed: the server does not speak TLS on this port (it answered in plain HTTP)",
			Details: []string{"use http:// instead of https:// in base_url, or the server's TLS port"}}, true
	case strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "x509: "):
		return Diagnosis{Class: "tls", Summary: "TLS failed: " + tlsText(err.Error())}, true
	}
	return Diagnosis{}, false
}

func tlsText(s string) string {
	for _, p := range []string{"tls: ", "x509: "} {
		if i := strings.Index(s, p); i >= 0 {
			return firstLine(s[i:])
		}
	}
	return firstLine(s)
}

// addrOf finds the address a connection was refused at.
func addrOf(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Addr != nil {
		return op.Addr.String()
	}
	return "that address"
}

// statusDiagnosis explains a failure status.
func statusDiagnosis(x Exchange) Diagnosis {
	st := x.Response.Status
	req := x.Request.Method + " " + x.Request.URL
	msg := serverMessage(x)
	d := Diagnosis{}
	add := func(s string) { d.Details = append(d.Details, s) }
	switch {
	case st == http.StatusUnauthorized:
		d.Class, d.Summary = "unauthorized", "the server rejected the credentials (401 Unauthorized)"
		add("check source.auth: the token or key may be wrong, expired, revoked or for another account, and its ${env:…} variable must be set")
	case st == http.StatusForbidden:
		d.Class, d.Summary = "forbidden", "the credentials were accepted but may not read this (403 Forbidden)"
		if scopes := missingScopes(x.BodyString()); len(scopes) > 0 {
			add("missing scope: " + strings.Join(scopes, ", ") + " — grant it to the app or token, then check again")
		} else {
			add("the app, token or user lacks a permission or scope this endpoint needs")
		}
	case st == http.StatusNotFound:
		d.Class, d.Summary = "not-found", "the path does not exist on this server (404 Not Found)"
		add("check request.path and the path part of base_url")
	case st == http.StatusMethodNotAllowed:
		d.Class, d.Summary = "bad-request", "the server does not accept "+x.Request.Method+" here (405 Method Not Allowed)"
		add("check request.method and request.path")
	case st == http.StatusTooManyRequests:
		d.Class, d.Summary = "rate-limited", "the server is rate-limiting this client (429 Too Many Requests), even after retries"
		add("wait for the limit to reset, or lower source.rate_limit; another job may share the same account's budget")
	case st >= 500:
		d.Class, d.Summary = "server-error", fmt.Sprintf("the server failed (%d %s), even after retries", st, http.StatusText(st))
		add("this is the server's trouble, not the pipeline's: try again later")
	case st == http.StatusBadRequest || st == http.StatusUnprocessableEntity:
		d.Class, d.Summary = "bad-request", fmt.Sprintf("the server rejected the request (%d %s)", st, http.StatusText(st))
		add("check request.params and request.body against the API's documentation")
	default:
		d.Class, d.Summary = "http-error", fmt.Sprintf("the server answered %d %s", st, http.StatusText(st))
	}
	if msg != "" {
		add("the server says: " + msg)
	}
	add("request: " + req)
	return d
}

// bodyDiagnosis explains a 2xx response the source could not use.
func bodyDiagnosis(x Exchange, h Hint) (Diagnosis, bool) {
	r := x.Response
	ct := r.Header["Content-Type"]
	if r.Body == nil {
		d := Diagnosis{Class: "not-json", Summary: "the response is not JSON"}
		if ct != "" {
			d.Summary += " (Content-Type " + ct + ")"
		}
		start := snippetOf(r.Text, 120)
		if start == "" {
			start = "(empty)"
		}
		d.Details = []string{"the body starts: " + start}
		if strings.Contains(strings.ToLower(ct), "html") || strings.HasPrefix(strings.TrimSpace(r.Text), "<") {
			d.Details = append(d.Details, "an HTML page: base_url probably points at a web site or login page rather than the API")
		}
		d.Details = append(d.Details, "request: "+x.Request.Method+" "+x.Request.URL)
		return d, true
	}
	body := string(r.Body)
	parsed := gjson.Parse(body)
	if h.Records == "" {
		if parsed.IsArray() {
			return Diagnosis{}, false
		}
		return Diagnosis{Class: "records-path", Summary: "the response is " + jsontext.Kind(parsed) + ", not an array of records",
			Details: []string{"top-level keys: " + jsontext.TopKeys(parsed), "set records: to the path of the array of records"}}, true
	}
	v := gjson.Get(body, h.Records)
	switch {
	case !v.Exists():
		return Diagnosis{Class: "records-path", Summary: fmt.Sprintf("the records path %q is not in the response", h.Records),
			Details: []string{"top-level keys: " + jsontext.TopKeys(parsed), "set records: to the path of the array of records"}}, true
	case v.Type != gjson.Null && !v.IsArray():
		return Diagnosis{Class: "records-path", Summary: fmt.Sprintf("the records path %q holds %s, not an array", h.Records, jsontext.Kind(v)),
			Details: []string{`for an endpoint that returns one object, write records: "[@this]"`}}, true
	}
	return Diagnosis{}, false
}

// serverMessage is the error message a body carries: message, error,
// error_description, detail, errors[0].message; else the start of the text.
func serverMessage(x Exchange) string {
	body := x.BodyString()
	if x.Response.Body != nil {
		for _, p := range []string{"message", "error.message", "error_description", "error", "detail", "errors.0.message", "errors.0.detail", "title"} {
			if v := gjson.Get(body, p); v.Type == gjson.String && v.Str != "" {
				return snippetOf(v.Str, 300)
			}
		}
		return ""
	}
	return snippetOf(body, 160)
}

// missingScopes collects the values of keys that name scopes anywhere in
// a JSON body ("requiredGranularScopes", "requiredScopes", "missing_scopes").
func missingScopes(body string) []string {
	var v any
	if json.Unmarshal([]byte(body), &v) != nil {
		return nil
	}
	seen := map[string]bool{}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		isScope := strings.Contains(strings.ToLower(key), "scope")
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(k, c)
			}
		case []any:
			for _, c := range x {
				walk(key, c)
			}
		case string:
			if isScope && !strings.Contains(x, " ") && !strings.Contains(x, "://") {
				seen[x] = true
			}
		}
	}
	walk("", v)
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func snippetOf(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
