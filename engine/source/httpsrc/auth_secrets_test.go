package httpsrc

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/config"
)

func httpTypes(typ string) (reflect.Type, reflect.Type, bool) {
	return reflect.TypeFor[SourceConfig](), reflect.TypeFor[EntityConfig](), typ == "http"
}

// TestAuthSecretPaths: with each type owning its keys, every Secret of
// every auth type is still a secret path (redaction, literal-secret),
// whatever type the file names; plain settings are not.
func TestAuthSecretPaths(t *testing.T) {
	d := config.Parse("t.yaml", []byte("source: {type: http}\n"), config.Options{SettingsTypes: httpTypes})
	want := map[string]bool{
		"/source/auth/token": true, "/source/auth/headers/X-Key": true, "/source/auth/query/api_key": true,
		"/source/auth/password": true, "/source/auth/client_secret": true, "/source/auth/refresh_token": true,
		"/source/auth/key": true, "/source/auth/secrets/x": true, "/source/auth/access_key_id": true,
		"/source/auth/secret_access_key": true, "/source/auth/session_token": true,
		"/source/auth/username": false, "/source/auth/token_url": false, "/source/auth/type": false,
		"/source/auth/scheme": false, "/source/auth/headers": false, "/source/auth/sign/X-Sig": false,
		"/source/auth/token/deeper": false, "/source/base_url": false,
	}
	// Every Secret field of every registered type, so a new type's is
	// covered without a line here.
	for _, typ := range AuthTypes() {
		_, cfg, _ := AuthConfig(typ)
		for i := range cfg.NumField() {
			f := cfg.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case f.Type == reflect.TypeFor[config.Secret]():
				want["/source/auth/"+key] = true
			case f.Type == reflect.TypeFor[map[string]config.Secret]():
				want["/source/auth/"+key+"/Some-Name"] = true
			}
		}
	}
	for p, w := range want {
		if got := d.IsSecretPath(p); got != w {
			t.Errorf("IsSecretPath(%s) = %v, want %v", p, got, w)
		}
	}
}

// TestAuthSecretsCollected: the secret values of the type's keys are
// collected for redaction, and of every type's when the type is unknown.
func TestAuthSecretsCollected(t *testing.T) {
	for _, tc := range []struct{ auth, want string }{
		{`{type: bearer, token: t0k}`, "t0k"},
		{`{type: api_key, headers: {X-A: h3ad}, query: {k: qu3ry}}`, "h3ad qu3ry"},
		{`{type: signed, secrets: {k: s1gn}, sign: {X: 'secrets.k'}}`, "s1gn"},
		{`{type: aws_sigv4, service: s, region: r, access_key_id: AK, secret_access_key: SK, session_token: ST}`, "AK SK ST"},
		{`{type: nosuch, password: pw, client_secret: cs}`, "cs pw"},
	} {
		d := config.Parse("t.yaml", []byte("version: 1\nname: t\nsource: {type: http, auth: "+tc.auth+"}\nentities: {e: {fields: {id: id}}}\n"),
			config.Options{SettingsTypes: httpTypes})
		p, err := d.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if err := d.DecodeSettings(p, reflect.TypeFor[SourceConfig](), reflect.TypeFor[EntityConfig]()); err != nil {
			t.Fatalf("%s: %v", tc.auth, err)
		}
		got := append([]string(nil), d.Secrets...)
		slices.Sort(got)
		got = slices.Compact(got)
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: secrets %v, want %s", tc.auth, got, tc.want)
		}
	}
}
