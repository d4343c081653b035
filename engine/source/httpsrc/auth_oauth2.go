package httpsrc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func init() {
	registerAuth("oauth2", "An OAuth 2.0 access token from token_url (client_credentials or refresh_token grant), cached and renewed.", compileOAuth2)
}

// oauth2Config is the keys of type oauth2.
type oauth2Config struct {
	Grant        string        `yaml:"grant" enum:"client_credentials,refresh_token" desc:"oauth2: the grant used to get tokens."`
	TokenURL     string        `yaml:"token_url" desc:"oauth2: the token endpoint. jwt: overrides the key's token_uri."`
	ClientID     string        `yaml:"client_id" desc:"oauth2: the client id."`
	ClientSecret config.Secret `yaml:"client_secret" desc:"oauth2: the client secret."`
	RefreshToken config.Secret `yaml:"refresh_token" desc:"oauth2 refresh_token grant: the long-lived refresh token."`
	Scopes       []string      `yaml:"scopes" desc:"oauth2, jwt: scopes to request."`
	// CredentialsFile is an authorized_user JSON file (client_id,
	// client_secret, refresh_token) instead of the three settings.
	CredentialsFile string `yaml:"credentials_file" desc:"oauth2 refresh_token grant: an authorized_user JSON file (client_id, client_secret, refresh_token) instead of those three settings."`
}

// earlyExpiry renews a token this long before the server says it expires
// (a quarter of its life for short-lived tokens), so that no request
// leaves with a token about to die.
const earlyExpiry = time.Minute

// oauth2Auth caches one access token for every entity of a source. It
// does its own caching rather than oauth2.ReuseTokenSource so that a
// token fetch honours the request's context (cancel stops it) and so that
// a 401 can throw the cached token away.
type oauth2Auth struct {
	fetch   func(ctx context.Context) (*oauth2.Token, error)
	timeout time.Duration
	client  *http.Client

	mu    sync.Mutex
	tok   *oauth2.Token
	renew time.Time // when to fetch the next token; zero: when rejected
}

// OAuth2Grants are the grants auth type oauth2 can use (grant:).
var OAuth2Grants = []string{"client_credentials", "refresh_token"}

func compileOAuth2(a *oauth2Config, c *problems, at string) (authMaker, []string) {
	grant := a.Grant
	if grant == "" {
		grant = "client_credentials"
		if a.RefreshToken.IsSet() || a.CredentialsFile != "" {
			grant = "refresh_token"
		}
	}
	fromFile := a.CredentialsFile != ""
	if fromFile && (a.ClientID != "" || a.ClientSecret.IsSet() || a.RefreshToken.IsSet()) {
		c.errf(at+"/credentials_file", "conflicting-settings", "credentials_file holds client_id, client_secret and refresh_token: drop those settings or the file")
	}
	if fromFile && grant != "refresh_token" {
		c.errf(at+"/credentials_file", "invalid-value", "credentials_file (an authorized_user JSON file) is for grant: refresh_token")
	}
	if a.TokenURL == "" {
		c.errf(at+"/token_url", "missing-setting", "auth type oauth2 needs token_url (the token endpoint)")
	} else if u, err := url.Parse(a.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.errf(at+"/token_url", "invalid-value", "token_url %q is not an http(s) URL", a.TokenURL)
	}
	if a.ClientID == "" && !fromFile {
		c.errf(at+"/client_id", "missing-setting", "auth type oauth2 needs client_id")
	}
	switch grant {
	case "client_credentials":
		if !a.ClientSecret.IsSet() {
			c.errf(at+"/client_secret", "missing-setting", "oauth2 grant client_credentials needs client_secret")
		}
	case "refresh_token":
		if !a.RefreshToken.IsSet() && !fromFile {
			c.errf(at+"/refresh_token", "missing-setting", "oauth2 grant refresh_token needs refresh_token")
		}
	default:
		c.errf(at+"/grant", "invalid-value", "unknown oauth2 grant %q: want client_credentials or refresh_token", grant)
	}
	// Entities of one source share the token when their credentials match.
	h := sha256.Sum256([]byte(strings.Join([]string{grant, a.TokenURL, a.ClientID,
		a.ClientSecret.Reveal(), a.RefreshToken.Reveal(), a.CredentialsFile, strings.Join(a.Scopes, " ")}, "\x00")))
	key := hex.EncodeToString(h[:])
	cfg := *a
	return func(st *sourceState, env *openEnv) authenticator {
		return st.sharedAuth("oauth2:"+key, func() authenticator {
			return newOAuth2(grant, &cfg, st.client, env.timeout)
		})
	}, nil
}

func newOAuth2(grant string, a *oauth2Config, client *http.Client, timeout time.Duration) *oauth2Auth {
	o := &oauth2Auth{client: client, timeout: timeout}
	switch grant {
	case "refresh_token":
		conf := &oauth2.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret.Reveal(),
			Endpoint: oauth2.Endpoint{TokenURL: a.TokenURL}, Scopes: a.Scopes}
		refresh := a.RefreshToken.Reveal()
		file := a.CredentialsFile // read at the first fetch; again after a failure
		o.fetch = func(ctx context.Context) (*oauth2.Token, error) {
			if file != "" {
				id, secret, rt, err := readAuthorizedUser(file)
				if err != nil {
					return nil, err
				}
				conf.ClientID, conf.ClientSecret, refresh, file = id, secret, rt, ""
			}
			// A token with only a refresh token is expired: the source refreshes it.
			t, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refresh}).Token()
			if err == nil && t.RefreshToken != "" {
				refresh = t.RefreshToken // servers that rotate refresh tokens
			}
			return t, err
		}
	default:
		conf := &clientcredentials.Config{ClientID: a.ClientID, ClientSecret: a.ClientSecret.Reveal(),
			TokenURL: a.TokenURL, Scopes: a.Scopes}
		o.fetch = conf.Token
	}
	return o
}

// token returns the cached token, fetching a new one when there is none
// or it is about to expire. o.mu also keeps refresh (and its rotated
// refresh token) single-flight.
func (o *oauth2Auth) token(ctx context.Context) (*oauth2.Token, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if o.tok != nil && (o.renew.IsZero() || now.Before(o.renew)) {
		return o.tok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	t, err := o.fetch(context.WithValue(ctx, oauth2.HTTPClient, o.client))
	if err != nil {
		return nil, fmt.Errorf("getting an oauth2 token: %w", err)
	}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("getting an oauth2 token: the token endpoint returned no access_token")
	}
	o.tok, o.renew = t, time.Time{}
	if !t.Expiry.IsZero() {
		o.renew = t.Expiry.Add(-min(earlyExpiry, t.Expiry.Sub(now)/4))
	}
	return t, nil
}

func (o *oauth2Auth) apply(ctx context.Context, req *http.Request) error {
	t, err := o.token(ctx)
	if err != nil {
		return err
	}
	t.SetAuthHeader(req)
	return nil
}

// renewToken drops the cached token if it is the one the server rejected; a
// reader that already got a newer token keeps it.
func (o *oauth2Auth) renewToken(rejected *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tok != nil && rejected.Header.Get("Authorization") == o.tok.Type()+" "+o.tok.AccessToken {
		o.tok, o.renew = nil, time.Time{}
	}
}

var (
	_ authenticator = (*oauth2Auth)(nil)
	_ renewer       = (*oauth2Auth)(nil)
)

// readAuthorizedUser reads an authorized_user JSON file (client_id,
// client_secret, refresh_token: what an OAuth2 consent flow saved). Its
// errors name the file, never a value of it.
func readAuthorizedUser(path string) (id, secret, refresh string, err error) {
	from := "auth.credentials_file " + path
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", "", "", fmt.Errorf("%s: %v", from, err)
	}
	var f struct {
		Type         string `json:"type"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(b, &f) != nil {
		return "", "", "", fmt.Errorf("%s: not an authorized_user JSON file (an object with client_id, client_secret and refresh_token)", from)
	}
	if f.Type != "" && f.Type != "authorized_user" {
		return "", "", "", fmt.Errorf("%s: the file's type is %q, not authorized_user", from, f.Type)
	}
	if f.ClientID == "" || f.RefreshToken == "" {
		return "", "", "", fmt.Errorf("%s: the file needs client_id and refresh_token", from)
	}
	return f.ClientID, f.ClientSecret, f.RefreshToken, nil
}
