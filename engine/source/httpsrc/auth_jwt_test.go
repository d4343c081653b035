package httpsrc

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// testKey is one RSA key for every jwt test (generating one takes a while).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// serviceAccountJSON is a service-account key in the JSON shape key files
// have, with the private key as PKCS #8 PEM.
func serviceAccountJSON(t *testing.T, tokenURI string) (string, string) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(testKey())
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "p", "private_key_id": "kid-1",
		"private_key": pemKey, "client_email": "sync@p.iam.example.com", "client_id": "1", "token_uri": tokenURI})
	return string(b), pemKey
}

// verifyAssertion checks a JWT bearer assertion's RS256 signature with
// pub and returns its header and claims.
func verifyAssertion(assertion string, pub *rsa.PublicKey) (header, claims gjson.Result, err error) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return header, claims, fmt.Errorf("%d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return header, claims, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return header, claims, fmt.Errorf("bad signature: %v", err)
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	c, _ := base64.RawURLEncoding.DecodeString(parts[1])
	return gjson.ParseBytes(h), gjson.ParseBytes(c), nil
}

const jwtYAML = `
version: 1
name: t
source:
  type: http
  base_url: BASE
  auth: {type: jwt, key_file: "${env:KEY_FILE}", scopes: [https://scope.example/readonly], TOKENURL}
  retry: {attempts: 2, initial: 1ms}
entities:
  rows:
    request: {path: /v1/rows}
    records: data
    paginate: {style: cursor, cursor: next, param: after}
    fields: {id: id}
`

// TestJWTAuth: the token request is a JWT signed with the key (RS256,
// kid, iss, scope, aud = the token URL) that the endpoint verifies with
// the public key; the token is fetched once for both pages; token_url
// overrides the key's token_uri; the private key is in no log.
func TestJWTAuth(t *testing.T) {
	var mu sync.Mutex
	var assertions []string
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/token" {
			form, _ := url.ParseQuery(body)
			if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
				writeJSON(w, 400, []byte(`{"error":"unsupported_grant_type"}`))
				return
			}
			hdr, claims, err := verifyAssertion(form.Get("assertion"), &testKey().PublicKey)
			if err != nil {
				writeJSON(w, 400, []byte(`{"error":"invalid_grant","error_description":"`+err.Error()+`"}`))
				return
			}
			assertions = append(assertions, hdr.Get("alg").String()+" "+hdr.Get("kid").String()+" "+claims.Get("iss").String()+" "+
				claims.Get("scope").String()+" "+strings.TrimPrefix(claims.Get("aud").String(), "http://"+r.Host))
			writeJSON(w, 200, []byte(`{"access_token":"ya29.tok-1","expires_in":3599,"token_type":"Bearer"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer ya29.tok-1" {
			writeJSON(w, 401, []byte(`{"error":{"code":401,"status":"UNAUTHENTICATED"}}`))
			return
		}
		if r.URL.Query().Get("after") == "" {
			writeJSON(w, 200, []byte(`{"data":[{"id":"1"}],"next":"c1"}`))
			return
		}
		writeJSON(w, 200, []byte(`{"data":[{"id":"2"}]}`))
	})
	for _, tc := range []struct{ name, keyTokenURI, tokenURL string }{
		{"token_uri from the key", api.URL + "/token", ""},
		{"token_url overrides it", "https://oauth2.invalid/token", "token_url: " + api.URL + "/token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertions = nil
			keyJSON, pemKey := serviceAccountJSON(t, tc.keyTokenURI)
			path := filepath.Join(t.TempDir(), "sa.json")
			os.WriteFile(path, []byte(keyJSON), 0o600)
			yml := strings.Replace(jwtYAML, "TOKENURL", tc.tokenURL, 1)
			r := openYAML(t, yml, api.URL, map[string]string{"KEY_FILE": path})
			pages, err := readAllPages(t, r, source.ReadState{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, []string{"1", "2"}) {
				t.Fatalf("ids %v", got)
			}
			want := []string{"RS256 kid-1 sync@p.iam.example.com https://scope.example/readonly /token"}
			if !slices.Equal(assertions, want) {
				t.Fatalf("token requests %q, want %q", assertions, want)
			}
			if strings.Contains(r.logs.String(), "PRIVATE KEY") || strings.Contains(r.logs.String(), pemKey[40:80]) {
				t.Fatalf("the key is in the log:\n%s", r.logs)
			}
		})
	}
}

// TestJWTBadKey: a key that does not read or parse fails the first
// request with an error naming the file and what is wrong, never a part
// of the key; key: (the JSON itself) works like key_file.
func TestJWTBadKey(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		writeJSON(w, 200, []byte(`{"access_token":"x","expires_in":3599}`))
	})
	good, pemKey := serviceAccountJSON(t, api.URL+"/token")
	var k map[string]string
	json.Unmarshal([]byte(good), &k)
	with := func(member, value string) string {
		m := map[string]string{}
		for a, b := range k {
			m[a] = b
		}
		if value == "" {
			delete(m, member)
		} else {
			m[member] = value
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	dir := t.TempDir()
	cases := []struct{ name, content, want string }{
		{"no such file", "", "auth.key_file DIR/sa.json: reading the service-account key: no such file or directory"},
		{"not JSON", good[:len(good)/2], "auth.key_file DIR/sa.json: not a service-account JSON key: invalid JSON at byte"},
		{"not an object", `["a"]`, "auth.key_file DIR/sa.json: not a service-account JSON key (an object with client_email and private_key)"},
		{"another type", with("type", "authorized_user"), `auth.key_file DIR/sa.json: the key's type is "authorized_user", not service_account`},
		{"no email", with("client_email", ""), "auth.key_file DIR/sa.json: the service-account key has no client_email"},
		{"key not PEM", with("private_key", strings.ReplaceAll(pemKey, "-----", "")), "auth.key_file DIR/sa.json: private_key: not a PEM block"},
		{"key garbled", with("private_key", strings.Replace(pemKey, pemKey[60:70], "AAAAAAAAAA", 1)), "auth.key_file DIR/sa.json: private_key: the PEM block is neither"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "sa.json")
			os.Remove(path)
			if tc.content != "" {
				os.WriteFile(path, []byte(tc.content), 0o600)
			}
			yml := strings.Replace(jwtYAML, "TOKENURL", "", 1)
			r := openYAML(t, yml, api.URL, map[string]string{"KEY_FILE": path})
			_, err := readAllPages(t, r, source.ReadState{})
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("err %v, want %s", err, want)
			}
			if strings.Contains(err.Error(), pemKey[100:140]) || strings.Contains(err.Error(), "BEGIN") {
				t.Fatalf("the key is in the error: %v", err)
			}
		})
	}

	t.Run("key from env", func(t *testing.T) {
		yml := strings.Replace(strings.Replace(jwtYAML, `key_file: "${env:KEY_FILE}"`, `key: "${env:KEY}"`, 1), "TOKENURL", "", 1)
		r := openYAML(t, yml, api.URL, map[string]string{"KEY": with("private_key", "nope")})
		_, err := readAllPages(t, r, source.ReadState{})
		if err == nil || !strings.Contains(err.Error(), "auth.key: private_key: not a PEM block") {
			t.Fatalf("err %v", err)
		}
	})
}

// TestOAuth2CredentialsFile: an authorized_user file gives the client and
// the refresh token of grant refresh_token.
func TestOAuth2CredentialsFile(t *testing.T) {
	ts := &tokenServer{}
	api := newOAuthAPI(t, ts, false)
	path := filepath.Join(t.TempDir(), "user.json")
	os.WriteFile(path, []byte(`{"type":"authorized_user","client_id":"app-1","client_secret":"client-secret-xyz","refresh_token":"rt-0"}`), 0o600)
	yml := strings.Replace(oauthYAML, `    grant: GRANT
`, "", 1)
	yml = strings.Replace(yml, `    client_id: app-1
    client_secret: "${env:SECRET}"
    refresh_token: "${env:REFRESH}"
`, "    credentials_file: "+path+"\n", 1)
	r := openYAML(t, yml, api.URL, nil)
	pages, err := readAllPages(t, r, source.ReadState{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "id"); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("ids %v", got)
	}
	if want := []string{"refresh_token rt-0", "refresh_token rt-1"}; !slices.Equal(ts.grants, want) {
		t.Fatalf("token requests %v, want %v", ts.grants, want)
	}

	os.WriteFile(path, []byte(`{"type":"service_account"}`), 0o600)
	api = newOAuthAPI(t, &tokenServer{}, false) // another source: no cached token
	r = openYAML(t, yml, api.URL, nil)
	if _, err := readAllPages(t, r, source.ReadState{}); err == nil || !strings.Contains(err.Error(), "auth.credentials_file "+path+`: the file's type is "service_account", not authorized_user`) {
		t.Fatalf("err %v", err)
	}
}

func TestJWTCompileProblems(t *testing.T) {
	for _, tc := range []struct{ name, auth, want string }{
		{"no key", `{type: jwt, scopes: [s]}`, "/source/auth/key_file missing-setting"},
		{"both", `{type: jwt, key_file: /k, key: x, scopes: [s]}`, "/source/auth/key conflicting-settings"},
		{"no scopes", `{type: jwt, key_file: /k}`, "/source/auth/scopes missing-setting"},
		{"token url", `{type: jwt, key_file: /k, scopes: [s], token_url: "ftp://x"}`, "/source/auth/token_url invalid-value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := compileYAML(t, `
version: 1
name: t
source: {type: http, base_url: "http://h", auth: `+tc.auth+`}
entities:
  e: {request: {path: /v}, fields: {id: id}}
`, "")
			var got []string
			for _, p := range probs {
				got = append(got, p.Path+" "+p.Code)
			}
			if !slices.Equal(got, []string{tc.want}) {
				t.Fatalf("problems %v, want %s", probs, tc.want)
			}
		})
	}
}
