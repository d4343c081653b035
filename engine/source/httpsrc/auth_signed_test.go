package httpsrc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// signedYAML signs like the HMAC header scheme of an OData API:
// Authorization: <company>:<key>:<unix ts>:<base64(HMAC-SHA256(base64-decoded secret, company+key+ts))>,
// plus a header over the request itself.
const signedYAML = `
version: 1
name: t
source:
  type: http
  base_url: BASE
  retry: {attempts: 3, initial: 1ms, max: 1ms}
  auth:
    type: signed
    secrets:
      company: "${env:COMPANY}"
      key: "${env:KEY}"
      secret: "${env:SECRET}"
    sign:
      Authorization: |
        let ts = string(unix_now());
        secrets.company + ":" + secrets.key + ":" + ts + ":" +
          base64(hmac_sha256(base64_decode(secrets.secret), secrets.company + secrets.key + ts))
      X-Request-Sig: 'hex(hmac_sha256(secrets.key, method + " " + path + "?" + query))'
entities:
  items:
    request: {path: /items}
    paginate: {style: offset, offset_param: $skip, limit_param: $top, limit: 2}
    records: value
    fields: {id: id}
`

// TestSignedAuth: the signed headers are computed for every request, a
// retry included, from the secrets and the request; a server that checks
// the HMAC accepts them; the secrets and the computed values never show
// in an error.
func TestSignedAuth(t *testing.T) {
	const company, key = "1234", "api-key-abcdef"
	secret := []byte("the-shared-secret-bytes")
	env := map[string]string{"COMPANY": company, "KEY": key, "SECRET": base64.StdEncoding.EncodeToString(secret)}
	verify := func(r *http.Request) error {
		parts := strings.Split(r.Header.Get("Authorization"), ":")
		if len(parts) != 4 || parts[0] != company || parts[1] != key {
			return fmt.Errorf("authorization %q", r.Header.Get("Authorization"))
		}
		if _, err := strconv.ParseInt(parts[2], 10, 64); err != nil {
			return fmt.Errorf("timestamp %q", parts[2])
		}
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(company + key + parts[2]))
		if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); parts[3] != want {
			return fmt.Errorf("hash %q, want %q", parts[3], want)
		}
		m = hmac.New(sha256.New, []byte(key))
		m.Write([]byte(r.Method + " " + r.URL.EscapedPath() + "?" + r.URL.RawQuery))
		if got, want := r.Header.Get("X-Request-Sig"), fmt.Sprintf("%x", m.Sum(nil)); got != want {
			return fmt.Errorf("request signature %q, want %q", got, want)
		}
		return nil
	}
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		if err := verify(r); err != nil {
			http.Error(w, err.Error(), 401)
			return
		}
		if n == 2 {
			http.Error(w, "busy", 503) // the retry signs again
			return
		}
		switch r.URL.Query().Get("$skip") {
		case "0":
			writeJSON(w, 200, []byte(`{"value":[{"id":1},{"id":2}]}`))
		default:
			writeJSON(w, 200, []byte(`{"value":[{"id":3}]}`))
		}
	})
	r := openYAML(t, signedYAML, api.URL, env)
	pages, err := readAllPages(t, r, source.ReadState{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(pages, "id"), ","); got != "1,2,3" {
		t.Errorf("ids %s", got)
	}
	reqs := api.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (one retried)", len(reqs))
	}
	if reqs[0].Header.Get("X-Request-Sig") == reqs[1].Header.Get("X-Request-Sig") {
		t.Error("pages 1 and 2 carry the same request signature: not computed per request")
	}

	// A server that echoes the header back in its error: nothing secret
	// in the error.
	echo := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		http.Error(w, "bad signature "+r.Header.Get("Authorization")+" "+r.Header.Get("X-Request-Sig"), 403)
	})
	r = openYAML(t, signedYAML, echo.URL, env)
	_, err = readAllPages(t, r, source.ReadState{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{key, env["SECRET"], echo.requests()[0].Header.Get("X-Request-Sig")} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q shows %q", err, s)
		}
	}
	if !strings.Contains(err.Error(), "status 403") {
		t.Errorf("error %q", err)
	}
}

func TestSignedAuthProblems(t *testing.T) {
	cases := []struct{ auth, want string }{
		{`{type: signed}`, "auth type signed needs sign"},
		{`{type: signed, sign: {Authorization: 'secrets.x +'}}`, `signed header "Authorization"`},
	}
	for _, tc := range cases {
		_, probs := compileYAML(t, `
version: 1
name: t
source: {type: http, base_url: http://x, auth: `+tc.auth+`}
entities:
  e:
    request: {path: /x}
    fields: {id: id}
`, "")
		if !strings.Contains(fmt.Sprint(probs), tc.want) {
			t.Errorf("%s: problems %v, want %q", tc.auth, probs, tc.want)
		}
	}
}
