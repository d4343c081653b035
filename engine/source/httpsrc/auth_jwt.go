package httpsrc

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/engine/config"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

// auth type jwt: the JWT bearer grant (RFC 7523) of service accounts.
// Each token request is a JWT signed with the account's RS256 private
// key (iss: its client_email, scope, aud: the token URL); the access
// token it returns is cached and renewed like oauth2's. The key is a
// service-account JSON key, read from key_file or key when the first
// token is needed (so lint needs no key); a key that does not parse is an
// error naming the file, never showing the key.
func init() {
	registerAuth("jwt", "A signed JWT assertion (RFC 7523) from a service-account key, exchanged at the token URL for an access token.", compileJWT)
}

// jwtSettings is the keys of type jwt: key_file is the path of a
// service-account JSON key (client_email, private_key, private_key_id,
// token_uri), key its contents; token_url overrides the key's token_uri;
// subject is the user to act for (domain-wide delegation).
type jwtSettings struct {
	TokenURL string        `yaml:"token_url" desc:"oauth2: the token endpoint. jwt: overrides the key's token_uri."`
	Scopes   []string      `yaml:"scopes" desc:"oauth2, jwt: scopes to request."`
	KeyFile  string        `yaml:"key_file" desc:"jwt: path of the service-account JSON key (client_email, private_key, private_key_id, token_uri), read at the first token request: ${env:GOOGLE_APPLICATION_CREDENTIALS}."`
	Key      config.Secret `yaml:"key" desc:"jwt: the service-account JSON key itself, instead of key_file (${env:NAME})."`
	Subject  string        `yaml:"subject" desc:"jwt: the user the service account acts for (domain-wide delegation); empty: the account itself."`
}

// serviceAccountKey is the part of a service-account JSON key jwt reads.
type serviceAccountKey struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
}

func compileJWT(a *jwtSettings, c *problems, at string) (authMaker, []string) {
	switch {
	case a.KeyFile == "" && !a.Key.IsSet():
		c.errf(at+"/key_file", "missing-setting", "auth type jwt needs key_file (the path of the service-account JSON key, ${env:GOOGLE_APPLICATION_CREDENTIALS}) or key (its contents, ${env:NAME})")
	case a.KeyFile != "" && a.Key.IsSet():
		c.errf(at+"/key", "conflicting-settings", "auth type jwt takes the key from key_file or from key, not both")
	}
	if len(a.Scopes) == 0 {
		c.errf(at+"/scopes", "missing-setting", "auth type jwt needs scopes: the access the token asks for")
	}
	if a.TokenURL != "" {
		if u, err := url.Parse(a.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.errf(at+"/token_url", "invalid-value", "token_url %q is not an http(s) URL", a.TokenURL)
		}
	}
	h := sha256.Sum256([]byte(strings.Join([]string{"jwt", a.KeyFile, a.Key.Reveal(), a.TokenURL, a.Subject, strings.Join(a.Scopes, " ")}, "\x00")))
	key := hex.EncodeToString(h[:])
	cfg := *a
	return func(st *sourceState, env *openEnv) authenticator {
		return st.sharedAuth("jwt:"+key, func() authenticator {
			o := &oauth2Auth{client: st.client, timeout: env.timeout}
			o.fetch = jwtFetch(&cfg)
			return o
		})
	}, nil
}

// jwtFetch reads the key at the first token request and signs every
// later one with it. A key that does not read is not remembered: the
// next request (crmsync serve's next tick) reads the file again. The
// caller (oauth2Auth.token) runs one fetch at a time.
func jwtFetch(a *jwtSettings) func(ctx context.Context) (*oauth2.Token, error) {
	var conf *jwt.Config
	return func(ctx context.Context) (*oauth2.Token, error) {
		if conf == nil {
			c, err := jwtConfig(a)
			if err != nil {
				return nil, err
			}
			conf = c
		}
		return conf.TokenSource(ctx).Token()
	}
}

// jwtConfig parses the service-account key. Its errors name the file
// (or key:) and the member, never a value of it.
func jwtConfig(a *jwtSettings) (*jwt.Config, error) {
	from, raw := "auth.key", []byte(a.Key.Reveal())
	if a.KeyFile != "" {
		from = "auth.key_file " + a.KeyFile
		b, err := os.ReadFile(a.KeyFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("%s: reading the service-account key: %v", from, err)
		}
		raw = b
	}
	var k serviceAccountKey
	if err := json.Unmarshal(raw, &k); err != nil {
		// json's syntax errors carry an offset, never the text.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%s: not a service-account JSON key: invalid JSON at byte %d", from, se.Offset)
		}
		return nil, fmt.Errorf("%s: not a service-account JSON key (an object with client_email and private_key)", from)
	}
	if k.Type != "" && k.Type != "service_account" {
		return nil, fmt.Errorf("%s: the key's type is %q, not service_account", from, k.Type)
	}
	var missing []string
	for n, v := range map[string]string{"client_email": k.ClientEmail, "private_key": k.PrivateKey} {
		if v == "" {
			missing = append(missing, n)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: the service-account key has no %s", from, strings.Join(missing, " and "))
	}
	tokenURL := a.TokenURL
	if tokenURL == "" {
		tokenURL = k.TokenURI
	}
	if tokenURL == "" {
		return nil, fmt.Errorf("%s: the key has no token_uri: set auth.token_url", from)
	}
	conf := &jwt.Config{Email: k.ClientEmail, PrivateKey: []byte(k.PrivateKey), PrivateKeyID: k.PrivateKeyID,
		Subject: a.Subject, Scopes: a.Scopes, TokenURL: tokenURL}
	if err := checkPrivateKey(conf.PrivateKey); err != nil {
		return nil, fmt.Errorf("%s: private_key: %v", from, err)
	}
	return conf, nil
}

// checkPrivateKey reports a private key that is not an RSA key in PEM
// (PKCS #8 or PKCS #1), before any request signs with it.
func checkPrivateKey(b []byte) error {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return errors.New("not a PEM block (a PEM private key, as service-account keys hold)")
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		if _, ok := k.(*rsa.PrivateKey); !ok {
			return fmt.Errorf("a %T, not an RSA key (RS256)", k)
		}
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
		return errors.New("the PEM block is neither a PKCS #8 nor a PKCS #1 RSA private key")
	}
	return nil
}
