package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/examples/quickstart/mockcrm/crm"
)

// checkPipeline is a one-entity pipeline against base (records: path).
func checkPipeline(base, records string) string {
	return fmt.Sprintf(`version: 1
name: crm
source:
  type: http
  base_url: %s
  auth: { type: bearer, token: "${env:AUTHORING_CHECK_TOKEN}" }
  retry: { initial: 10ms, max: 20ms }
  timeout: 5s
entities:
  contacts:
    request: { path: /crm/v3/objects/contacts, params: { limit: "10" } }
    records: %s
    paginate: { style: cursor, cursor: paging.next.after, param: after }
    primary_key: id
    fields: { id: id, email: properties.email }
`, base, records)
}

// TestCheckDiagnoses: check passes a working entity and names the cause
// of each failure in plain words.
func TestCheckDiagnoses(t *testing.T) {
	const token = "check-token-1234"
	t.Setenv("AUTHORING_CHECK_TOKEN", token)
	good := auMockCRM(t, crm.Options{Token: token})
	wrongToken := auMockCRM(t, crm.Options{Token: "another-token"})
	denied := auMockCRM(t, crm.Options{Token: token, Denied: []string{"contacts"}})
	tlsSrv := httptest.NewUnstartedServer(crm.New(crm.Default(), crm.Options{Token: token}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake we expect to fail
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>")
	}))
	t.Cleanup(html.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name, base, records string
		code                int
		want                []string
	}{
		{"ok", good.URL, "results", exitOK, []string{"ok    crm contacts: GET " + good.URL + "/crm/v3/objects/contacts?limit=10 → 200 OK, 10 records on the first page"}},
		{"dns", "http://crm.invalid", "results", exitFailed, []string{`FAIL  crm contacts: the host name "crm.invalid"`}},
		{"tls", tlsSrv.URL, "results", exitFailed, []string{"TLS failed: the server's certificate is not trusted by this machine"}},
		{"plain http on https", strings.Replace(good.URL, "http://", "https://", 1), "results", exitFailed, []string{"TLS failed: the server does not speak TLS on this port"}},
		{"refused", closed, "results", exitFailed, []string{"the connection was refused: nothing is listening at " + strings.TrimPrefix(closed, "http://")}},
		{"401", wrongToken.URL, "results", exitFailed, []string{"the server rejected the credentials (401 Unauthorized)", "the server says: Authentication credentials not found"}},
		{"403 with scopes", denied.URL, "results", exitFailed, []string{"(403 Forbidden)", "missing scope: crm.objects.contacts.read", "This app hasn't been granted all required scopes"}},
		{"404", good.URL + "/v9", "results", exitFailed, []string{"the path does not exist on this server (404 Not Found)", "request: GET " + good.URL + "/v9/crm/v3/objects/contacts?limit=10"}},
		{"records path", good.URL, "data.items", exitFailed, []string{`the records path "data.items" is not in the response`, "top-level keys: paging, results"}},
		{"not json", html.URL, "results", exitFailed, []string{"the response is not JSON (Content-Type text/html; charset=utf-8)", "the body starts: <!DOCTYPE html>", "base_url probably points at a web site"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := auWriteFile(t, t.TempDir(), "crm.yaml", checkPipeline(c.base, c.records))
			code, out, errOut := auRun("check", file)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out+errOut, token) {
				t.Errorf("the token appears in the output:\n%s%s", out, errOut)
			}
		})
	}
}

// TestCheckSources: check reads the first page of every entity, of any
// source type, and exits 1 when one fails.
func TestCheckSources(t *testing.T) {
	srv := auMockCRM(t, crm.Options{Token: auSecret, Denied: []string{"deals"}})
	t.Setenv("QUICKSTART_BASE_URL", srv.URL)
	t.Setenv("QUICKSTART_TOKEN", auSecret)
	code, out, errOut := auRun("check", auQuickstart(t, "leads.yaml"))
	if code != exitOK || !strings.Contains(out, "ok    quickstart leads: read 8 records from the first page") {
		t.Errorf("leads: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = auRun("check", auQuickstart(t, "hubspot.yaml"))
	for _, w := range []string{"ok    hubspot contacts: POST", "(the source says 240 in all)", "ok    hubspot companies: GET",
		"FAIL  hubspot deals: the credentials were accepted but may not read this (403 Forbidden)", "1 of 3 entities failed"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if code != exitFailed {
		t.Errorf("exit %d, want 1", code)
	}
	if code, out, _ = auRun("check", auQuickstart(t, "hubspot.yaml"), "contacts"); code != exitOK || strings.Count(out, "\n") != 1 {
		t.Errorf("check of one entity: exit %d\n%s", code, out)
	}
}
