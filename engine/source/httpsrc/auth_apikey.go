package httpsrc

import (
	"context"
	"net/http"

	"github.com/crmsync/crmsync/engine/config"
)

func init() {
	registerAuth("api_key", "Fixed secrets sent as headers and/or query parameters.", compileAPIKey)
}

// apiKeyConfig is the keys of type api_key.
type apiKeyConfig struct {
	Headers map[string]config.Secret `yaml:"headers" desc:"api_key: headers to send, name → value (Arrivy: X-Auth-Key and X-Auth-Token)."`
	Query   map[string]config.Secret `yaml:"query" desc:"api_key: query parameters to send, name → value. Their values are redacted from every URL crmsync prints."`
}

func (a *apiKeyConfig) secretHeaders() []string { return sortedKeys(a.Headers) }

// apiKeyAuth sends fixed secrets as headers and/or query parameters
// (Arrivy: X-Auth-Key and X-Auth-Token).
type apiKeyAuth struct {
	headers, query []kv
}

func compileAPIKey(a *apiKeyConfig, c *problems, at string) (authMaker, []string) {
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
