package httpsrc

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// tokenServer is an oauth2 token endpoint plus an API that accepts only
// the newest token, and revokes the first one after its first use.
type tokenServer struct {
	mu      sync.Mutex
	issued  int
	grants  []string // grant_type and refresh_token of each token request
	current string
}

func newOAuthAPI(t *testing.T, ts *tokenServer, rejectAlways bool) *fakeAPI {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if r.URL.Path == "/oauth/v1/token" {
			id, secret, ok := r.BasicAuth()
			if !ok {
				r.ParseForm()
				id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
			}
			form := parseForm(body)
			if id != "app-1" || secret != "client-secret-xyz" {
				writeJSON(w, 401, []byte(`{"error":"invalid_client"}`))
				return
			}
			if form["grant_type"] == "refresh_token" && form["refresh_token"] != fmt.Sprintf("rt-%d", ts.issued) {
				writeJSON(w, 400, []byte(`{"error":"invalid_grant"}`))
				return
			}
			ts.grants = append(ts.grants, form["grant_type"]+" "+form["refresh_token"])
			ts.issued++
			ts.current = fmt.Sprintf("at-%d", ts.issued)
			writeJSON(w, 200, []byte(fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":3600,"refresh_token":"rt-%d"}`, ts.current, ts.issued)))
			return
		}
		if rejectAlways || r.Header.Get("Authorization") != "Bearer "+ts.current {
			writeJSON(w, 401, []byte(`{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}`))
			return
		}
		if r.URL.Query().Get("after") == "" {
			ts.current = "revoked-" + ts.current // the token dies after page 1
			writeJSON(w, 200, []byte(`{"results":[{"id":"1"}],"paging":{"next":{"after":"1"}}}`))
			return
		}
		writeJSON(w, 200, []byte(`{"results":[{"id":"2"}]}`))
	})
}

func parseForm(body string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(body, "&") {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

const oauthYAML = `
version: 1
name: t
source:
  type: http
  base_url: BASE
  auth:
    type: oauth2
    grant: GRANT
    token_url: BASE/oauth/v1/token
    client_id: app-1
    client_secret: "${env:SECRET}"
    refresh_token: "${env:REFRESH}"
  retry: {attempts: 2, initial: 1ms}
entities:
  contacts:
    request: {path: /crm/v3/objects/contacts}
    records: results
    paginate: {style: cursor, cursor: paging.next.after, param: after}
    fields: {id: id}
`

// TestOAuth2Renew: the token is fetched once and reused; when the API
// answers 401, the token is renewed once and the request tried again.
func TestOAuth2Renew(t *testing.T) {
	for _, grant := range []string{"client_credentials", "refresh_token"} {
		t.Run(grant, func(t *testing.T) {
			ts := &tokenServer{}
			api := newOAuthAPI(t, ts, false)
			yml := strings.ReplaceAll(oauthYAML, "GRANT", grant)
			r := openYAML(t, yml, api.URL, map[string]string{"SECRET": "client-secret-xyz", "REFRESH": "rt-0"})
			pages, err := readAllPages(t, r, source.ReadState{})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, []string{"1", "2"}) {
				t.Fatalf("ids %v", got)
			}
			var auths []string
			for _, q := range api.requests() {
				if q.Path != "/oauth/v1/token" {
					auths = append(auths, q.Header.Get("Authorization"))
				}
			}
			if want := []string{"Bearer at-1", "Bearer at-1", "Bearer at-2"}; !slices.Equal(auths, want) {
				t.Errorf("API saw %v, want %v", auths, want)
			}
			want := []string{"client_credentials ", "client_credentials "}
			if grant == "refresh_token" {
				want = []string{"refresh_token rt-0", "refresh_token rt-1"} // the rotated refresh token is used
			}
			if !slices.Equal(ts.grants, want) {
				t.Errorf("token requests %v, want %v", ts.grants, want)
			}
			if st := r.Reader.(source.StatsReporter).Stats(); st.Retries != 1 || st.APICalls != 3 {
				t.Errorf("stats %+v", st)
			}
			if strings.Contains(r.logs.String(), "client-secret-xyz") || strings.Contains(r.logs.String(), "at-1") {
				t.Errorf("secret in logs: %s", r.logs)
			}
		})
	}
}

// TestOAuth2RenewOnce: a 401 that a new token does not cure fails after
// one renewal instead of fetching tokens forever.
func TestOAuth2RenewOnce(t *testing.T) {
	ts := &tokenServer{}
	api := newOAuthAPI(t, ts, true)
	yml := strings.ReplaceAll(oauthYAML, "GRANT", "client_credentials")
	r := openYAML(t, yml, api.URL, map[string]string{"SECRET": "client-secret-xyz"})
	_, err := readAllPages(t, r, source.ReadState{})
	if err == nil || !strings.Contains(err.Error(), "page 1: GET "+api.URL+"/crm/v3/objects/contacts: status 401: the server answered Unauthorized") {
		t.Fatalf("err %v", err)
	}
	if ts.issued != 2 || len(api.requests()) != 4 {
		t.Errorf("%d tokens, %d requests", ts.issued, len(api.requests()))
	}
}

// TestOAuth2BadClient: the token endpoint's refusal is the error, without
// the client secret.
func TestOAuth2BadClient(t *testing.T) {
	ts := &tokenServer{}
	api := newOAuthAPI(t, ts, false)
	yml := strings.ReplaceAll(oauthYAML, "GRANT", "client_credentials")
	r := openYAML(t, yml, api.URL, map[string]string{"SECRET": "wrong-secret-123"})
	_, err := readAllPages(t, r, source.ReadState{})
	if err == nil || !strings.Contains(err.Error(), "getting an oauth2 token") || strings.Contains(err.Error(), "wrong-secret-123") {
		t.Fatalf("err %v", err)
	}
}

// TestBasicAuth: user and password on every request.
func TestBasicAuth(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		writeJSON(w, 200, []byte(`[{"id":"e1"}]`))
	})
	yml := `
version: 1
name: leadconduit
source: {type: http, base_url: BASE, auth: {type: basic, username: "X", password: "${env:LC_KEY}"}}
entities:
  events: {request: {path: /events, params: {sort: asc}}, fields: {id: id}}
`
	if _, err := readAllPages(t, openYAML(t, yml, api.URL, map[string]string{"LC_KEY": "lc-key-1"}), source.ReadState{}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "/", nil)
	req.Header = api.requests()[0].Header
	if u, p, ok := req.BasicAuth(); !ok || u != "X" || p != "lc-key-1" {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
}
