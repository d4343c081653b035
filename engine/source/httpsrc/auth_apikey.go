package httpsrc

import (
	"context"
	"net/http"
)

func init() { registerAuth("api_key", compileAPIKey) }

// apiKeyAuth sends fixed secrets as headers and/or query parameters
// (Arrivy: X-Auth-Key and X-Auth-Token).
type apiKeyAuth struct {
	headers, query []kv
}

func compileAPIKey(a *Auth, c *problems, at string) (authMaker, []string) {
	if len(a.Headers) == 0 && len(a.Query) == 0 {
		c.errf(at+"/headers", "missing-setting", "auth type api_key needs headers or query (name → secret value), for example headers: {X-Auth-Key: ${env:KEY}}")
	}
	k := &apiKeyAuth{}
	var secret []string
	for _, name := range sortedKeys(a.Headers) {
		if v := a.Headers[name]; !v.IsSet() {
			c.errf(at+"/headers/"+escapePointer(name), "missing-setting", "auth header %q has an empty value (is its ${env:…} variable set?)", name)
		}
		k.headers = append(k.headers, kv{http.CanonicalHeaderKey(name), a.Headers[name].Reveal()})
	}
	for _, name := range sortedKeys(a.Query) {
		if v := a.Query[name]; !v.IsSet() {
			c.errf(at+"/query/"+escapePointer(name), "missing-setting", "auth query parameter %q has an empty value (is its ${env:…} variable set?)", name)
		}
		k.query = append(k.query, kv{name, a.Query[name].Reveal()})
		secret = append(secret, name)
	}
	return func(*sourceState, *openEnv) authenticator { return k }, secret
}

func (k *apiKeyAuth) apply(_ context.Context, req *http.Request) error {
	for _, h := range k.headers {
		req.Header.Set(h.k, h.v)
	}
	for _, q := range k.query {
		setQuery(req.URL, q.k, q.v)
	}
	return nil
}

var _ authenticator = (*apiKeyAuth)(nil)
