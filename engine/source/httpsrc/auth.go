package httpsrc

import (
	"context"
	"net/http"
	"sort"
)

// authenticator signs the request of every page.
type authenticator interface {
	apply(ctx context.Context, req *http.Request) error
}

// renewer is an authenticator that can get fresh credentials when the
// server answers 401; the request is then tried once more.
type renewer interface {
	renewToken(rejected *http.Request)
}

// authMaker builds an entity's authenticator when its reader opens; it
// may share state (a token cache) through the source's state.
type authMaker func(st *sourceState, env *openEnv) authenticator

// authKind compiles one auth type's settings. secretParams are query
// parameter names whose values must never be printed.
type authKind func(a *Auth, c *problems, at string) (mk authMaker, secretParams []string)

var authKinds = map[string]authKind{}

// registerAuth makes an auth type available; each type's file registers
// its own from init. It panics on a duplicate.
func registerAuth(typ string, k authKind) {
	if _, dup := authKinds[typ]; dup {
		panic("httpsrc: registerAuth called twice for " + typ)
	}
	authKinds[typ] = k
}

// AuthTypes lists the registered auth types, sorted (for the JSON Schema
// and the docs).
func AuthTypes() []string { return authTypes() }

func authTypes() []string {
	out := make([]string, 0, len(authKinds))
	for k := range authKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func init() {
	registerAuth("none", func(*Auth, *problems, string) (authMaker, []string) {
		return func(*sourceState, *openEnv) authenticator { return noAuth{} }, nil
	})
}

type noAuth struct{}

func (noAuth) apply(context.Context, *http.Request) error { return nil }

var _ authenticator = noAuth{}
