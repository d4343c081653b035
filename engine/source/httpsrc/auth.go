package httpsrc

import (
	"context"
	"net/http"
	"reflect"
	"sort"

	"go.yaml.in/yaml/v3"
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

// authKind is one auth type: what it is (for the schema), the struct its
// own settings decode into and its compile step, which returns the
// authenticator's maker and the query parameters whose values must
// never be printed.
type authKind struct {
	desc    string
	config  reflect.Type
	compile func(cfg any, c *problems, at string) (mk authMaker, secretParams []string)
}

// secretHeaderer is a type's config whose headers carry secrets (their
// values are redacted from what crmsync prints).
type secretHeaderer interface {
	secretHeaders() []string
}

var authKinds = map[string]authKind{}

// registerAuth makes an auth type available; each type's file registers
// its own from init, with what it is (desc, for the schema), the struct
// of its own keys (C: yaml tags, and desc, minimum, maximum and enum
// tags the schema is generated from; struct{} for none) and its compile
// step. It panics on a duplicate.
func registerAuth[C any](typ, desc string, compile func(c *C, p *problems, at string) (authMaker, []string)) {
	if _, dup := authKinds[typ]; dup {
		panic("httpsrc: registerAuth called twice for " + typ)
	}
	authKinds[typ] = authKind{desc: desc, config: reflect.TypeFor[C](),
		compile: func(cfg any, p *problems, at string) (authMaker, []string) { return compile(cfg.(*C), p, at) }}
}

// AuthTypes lists the registered auth types, sorted (for the JSON Schema
// and the docs).
func AuthTypes() []string { return authTypes() }

// AuthConfig returns what an auth type is and the struct type of its own
// settings, for the JSON Schema.
func AuthConfig(typ string) (desc string, config reflect.Type, ok bool) {
	k, ok := authKinds[typ]
	return k.desc, k.config, ok
}

func authTypes() []string {
	out := make([]string, 0, len(authKinds))
	for k := range authKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// UnmarshalYAML decodes type and keeps the mapping for the type; it also
// decodes it into the type's struct (every type's when the type is not
// known), so that the secrets in it are collected and redacted. They are
// kept as values, not pointers: fmt's %s of a pointer it cannot format
// prints the struct without calling Secret.String.
func (a *Auth) UnmarshalYAML(n *yaml.Node) error {
	var head struct {
		Type string `yaml:"type"`
	}
	if err := n.Decode(&head); err != nil {
		return err
	}
	a.Type, a.Node, a.Settings = head.Type, n, nil
	if k, ok := authKinds[a.Type]; ok {
		v := reflect.New(k.config)
		err := n.Decode(v.Interface())
		a.Settings = []any{v.Elem().Interface()}
		return err
	}
	for _, t := range a.SettingsVariants() {
		v := reflect.New(t)
		_ = n.Decode(v.Interface()) // lint reports the unknown type
		a.Settings = append(a.Settings, v.Elem().Interface())
	}
	return nil
}

// SettingsVariants lists every auth type's settings struct: a key of
// auth is a secret when it is one in any type (config.Variants).
func (a *Auth) SettingsVariants() []reflect.Type {
	out := make([]reflect.Type, 0, len(authKinds))
	for _, t := range authTypes() {
		out = append(out, authKinds[t].config)
	}
	return out
}

// SettingsValues are the settings decoded with the mapping
// (config.Decoded).
func (a *Auth) SettingsValues() []any { return a.Settings }

func init() {
	registerAuth("none", "No credentials are sent.", func(*struct{}, *problems, string) (authMaker, []string) {
		return func(*sourceState, *openEnv) authenticator { return noAuth{} }, nil
	})
}

type noAuth struct{}

func (noAuth) apply(context.Context, *http.Request) error { return nil }

var _ authenticator = noAuth{}
