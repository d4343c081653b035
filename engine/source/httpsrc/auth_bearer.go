package httpsrc

import (
	"context"
	"net/http"
	"regexp"

	"github.com/crmsync/crmsync/engine/config"
)

func init() {
	registerAuth("bearer", "A token sent in the Authorization header.", compileBearer)
}

// bearerConfig is the keys of type bearer.
type bearerConfig struct {
	Token  config.Secret "yaml:\"token\" desc:\"bearer: the token sent as `Authorization: <scheme> <token>`.\""
	Scheme string        `yaml:"scheme" desc:"bearer: the word before the token in the Authorization header (default Bearer)."`
	// Format is the whole Authorization value with {{ token }} where the
	// token goes, for schemes that are not "<scheme> <token>".
	Format string `yaml:"format" desc:"bearer: the whole Authorization value with {{ token }} in it, for APIs with their own form (CallRail: 'Token token=\"{{ token }}\"'). Not together with scheme."`
}

var tokenHole = regexp.MustCompile(`\{\{\s*token\s*\}\}`)

// bearerAuth sends `Authorization: <prefix><token><suffix>`: "Bearer " and
// "" by default, or what auth.format says around {{ token }}.
type bearerAuth struct {
	value string
}

func compileBearer(a *bearerConfig, c *problems, at string) (authMaker, []string) {
	if !a.Token.IsSet() {
		c.errf(at+"/token", "missing-setting", "auth type bearer needs token (write it as ${env:NAME} or ${file:PATH})")
	}
	prefix, suffix := "Bearer ", ""
	switch {
	case a.Format != "" && a.Scheme != "":
		c.errf(at+"/format", "invalid-value", "set either scheme or format, not both: format already holds the whole Authorization value")
	case a.Format != "":
		locs := tokenHole.FindAllStringIndex(a.Format, -1)
		if len(locs) != 1 {
			c.errf(at+"/format", "bad-template", "format %q must hold {{ token }} exactly once, for example 'Token token=\"{{ token }}\"'", a.Format)
			break
		}
		prefix, suffix = a.Format[:locs[0][0]], a.Format[locs[0][1]:]
	case a.Scheme != "":
		prefix = a.Scheme + " "
	}
	b := &bearerAuth{value: prefix + a.Token.Reveal() + suffix}
	return func(*sourceState, *openEnv) authenticator { return b }, nil
}

func (b *bearerAuth) apply(_ context.Context, req *http.Request) error {
	req.Header.Set("Authorization", b.value)
	return nil
}

var _ authenticator = (*bearerAuth)(nil)
