package httpsrc

import (
	"context"
	"net/http"

	"github.com/crmsync/crmsync/engine/config"
)

func init() { registerAuth("basic", "HTTP Basic credentials.", compileBasic) }

// basicConfig is the keys of type basic.
type basicConfig struct {
	Username string        `yaml:"username" desc:"basic: the user name."`
	Password config.Secret `yaml:"password" desc:"basic: the password."`
}

// basicAuth sends HTTP Basic credentials. The password may be empty
// (APIs that take the key as the user name).
type basicAuth struct {
	user, pass string
}

func compileBasic(a *basicConfig, c *problems, at string) (authMaker, []string) {
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
