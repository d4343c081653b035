package httpsrc

import (
	"context"
	"net/http"
)

func init() { registerAuth("basic", compileBasic) }

// basicAuth sends HTTP Basic credentials. The password may be empty
// (APIs that take the key as the user name).
type basicAuth struct {
	user, pass string
}

func compileBasic(a *Auth, c *problems, at string) (authMaker, []string) {
	if a.Username == "" {
		c.errf(at+"/username", "missing-setting", "auth type basic needs username")
	}
	b := &basicAuth{a.Username, a.Password.Reveal()}
	return func(*sourceState, *openEnv) authenticator { return b }, nil
}

func (b *basicAuth) apply(_ context.Context, req *http.Request) error {
	req.SetBasicAuth(b.user, b.pass)
	return nil
}

var _ authenticator = (*basicAuth)(nil)
