package httpsrc

import (
	"context"
	"net/http"
	"regexp"
)

func init() { registerAuth("bearer", compileBearer) }

var tokenHole = regexp.MustCompile(`\{\{\s*token\s*\}\}`)

// bearerAuth sends `Authorization: <prefix><token><suffix>`: "Bearer " and
// "" by default, or what auth.format says around {{ token }}.
type bearerAuth struct {
	value string
}

func compileBearer(a *Auth, c *problems, at string) (authMaker, []string) {
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
