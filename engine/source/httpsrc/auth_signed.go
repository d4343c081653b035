package httpsrc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/exprfn"
)

func init() {
	registerAuth("signed", "Headers computed for every request (and every retry) by expressions over secrets and the request.", compileSigned)
}

// signedConfig is the keys of type signed: headers computed by
// expressions over secrets.<name> and the request (method, url, host,
// path, query, body), with hmac_sha256, base64, unix_now …
type signedConfig struct {
	Secrets map[string]config.Secret `yaml:"secrets" desc:"signed: secret values the sign expressions read as secrets.<name>; redacted from all output."`
	Sign    map[string]string        `yaml:"sign" desc:"signed: header name → expr expression computed for every request, retries included, over secrets.<name>, method, url, host, path, query and body, with hmac_sha256, hmac_sha1, sha256, base64, base64_decode, hex and unix_now; it must give text. The values are redacted from all output."`
}

func (a *signedConfig) secretHeaders() []string { return sortedKeys(a.Sign) }

// signEnv is what a signed header's expression sees, fresh for every
// request (each page and each retry).
type signEnv struct {
	Secrets map[string]string `expr:"secrets"`
	Method  string            `expr:"method"`
	URL     string            `expr:"url"`   // the full URL, with the query
	Host    string            `expr:"host"`  // host[:port]
	Path    string            `expr:"path"`  // escaped path, as sent
	Query   string            `expr:"query"` // the raw query, as sent, without "?"
	Body    string            `expr:"body"`  // the request body, "" for none
}

// signedAuth computes headers from expressions over secrets and the
// request: HMAC signatures with a timestamp, and the like.
type signedAuth struct {
	secrets map[string]string
	headers []signedHeader
}

type signedHeader struct {
	name, src string
	prog      *vm.Program
}

func compileSigned(a *signedConfig, c *problems, at string) (authMaker, []string) {
	if len(a.Sign) == 0 {
		c.errf(at+"/sign", "missing-setting", "auth type signed needs sign: header name → expression, for example Authorization: 'secrets.id + \":\" + base64(hmac_sha256(secrets.key, string(unix_now())))'")
	}
	s := &signedAuth{secrets: make(map[string]string, len(a.Secrets))}
	for _, k := range sortedKeys(a.Secrets) {
		if !a.Secrets[k].IsSet() {
			c.errf(at+"/secrets/"+escapePointer(k), "missing-setting", "secret %q has an empty value (is its ${env:…} variable set?)", k)
		}
		s.secrets[k] = a.Secrets[k].Reveal()
	}
	for _, name := range sortedKeys(a.Sign) {
		src := a.Sign[name]
		prog, err := expr.Compile(src, append(exprfn.Options(), expr.Env(signEnv{}))...)
		if err != nil {
			c.errf(at+"/sign/"+escapePointer(name), "expr-syntax", "signed header %q: %v (it sees secrets.<name>, method, url, host, path, query and body)", name, oneLine(err))
			continue
		}
		s.headers = append(s.headers, signedHeader{http.CanonicalHeaderKey(name), src, prog})
	}
	return func(*sourceState, *openEnv) authenticator { return s }, nil
}

func (s *signedAuth) apply(_ context.Context, req *http.Request) error {
	env := signEnv{Secrets: s.secrets, Method: req.Method, URL: req.URL.String(), Host: req.URL.Host,
		Path: req.URL.EscapedPath(), Query: req.URL.RawQuery}
	if req.GetBody != nil {
		rd, err := req.GetBody()
		if err != nil {
			return fmt.Errorf("signing: reading the request body: %w", err)
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			return fmt.Errorf("signing: reading the request body: %w", err)
		}
		env.Body = string(b)
	}
	for _, h := range s.headers {
		out, err := expr.Run(h.prog, &env)
		if err != nil {
			// expr's message may quote values it saw; the caller redacts.
			return fmt.Errorf("signed header %q: %s", h.name, oneLine(err))
		}
		v, ok := out.(string)
		if !ok {
			return fmt.Errorf("signed header %q: the expression gave %T, want text (wrap it in string() or base64())", h.name, out)
		}
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("signed header %q: the value has a line break", h.name)
		}
		req.Header.Set(h.name, v)
	}
	return nil
}

// computed lists the header values the last apply set, for redaction.
func (s *signedAuth) computed(req *http.Request) []string {
	out := make([]string, 0, len(s.headers))
	for _, h := range s.headers {
		out = append(out, req.Header.Get(h.name))
	}
	return out
}

var _ authenticator = (*signedAuth)(nil)
