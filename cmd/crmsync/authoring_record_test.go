package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/examples/quickstart/mockcrm/crm"
)

// TestRecordThenTest: preview --record writes fixtures and expected
// output; test replays them with the CRM gone and no secret set, passes,
// then fails with the difference when the pipeline's mapping or request
// changes, and passes again after --update.
func TestRecordThenTest(t *testing.T) {
	// Every 3rd request is a 429: retried tries must not be recorded.
	srv := auMockCRM(t, crm.Options{Token: auSecret, RateLimitEvery: 3, RetryAfter: 10 * time.Millisecond})
	t.Setenv("QUICKSTART_BASE_URL", srv.URL)
	t.Setenv("QUICKSTART_TOKEN", auSecret)
	dir := t.TempDir()
	src, err := os.ReadFile(auQuickstart(t, "hubspot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	file := auWriteFile(t, dir, "crm.yaml", string(src))
	fx := filepath.Join(dir, "crm.fixtures")

	code, _, errOut := auRun("preview", "--record", fx, "--limit", "51", file)
	if code != exitOK {
		t.Fatalf("preview --record: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"recorded 2 exchanges in " + filepath.Join(fx, "contacts") + "; expected output: 100 records",
		"recorded 2 exchanges in " + filepath.Join(fx, "companies") + "; expected output: 40 records"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if got := auFiles(t, filepath.Join(fx, "contacts")); strings.Join(got, " ") != "001.request.json 001.response.json 002.request.json 002.response.json expected.jsonl" {
		t.Errorf("contacts fixtures: %v", got)
	}
	auNoSecret(t, fx, auSecret)

	// Offline: the CRM is gone and the token unset.
	srv.Close()
	t.Setenv("QUICKSTART_BASE_URL", "")
	t.Setenv("QUICKSTART_TOKEN", "")
	code, out, errOut := auRun("test", file)
	if code != exitOK || !strings.Contains(out, "3 passed, 0 failed, 0 skipped") {
		t.Fatalf("test: exit %d\n%s%s", code, out, errOut)
	}

	edits := []struct {
		name, from, to string
		want           []string
	}{
		{"mapping", "first_name: properties.firstname", "first_name: properties.lastname",
			[]string{"FAIL  hubspot contacts: the mapped records differ from " + filepath.Join(fx, "contacts", "expected.jsonl"),
				`record 1 (id 27): field first_name: expected "Wes", got "Johnson"`, "ok    hubspot companies"}},
		{"validation", "amount:     { path: properties.amount, type: decimal, validate: [{ min: 0 }], on_invalid: reject }",
			"amount:     { path: properties.amount, type: decimal, validate: [{ min: 20000 }], on_invalid: reject }",
			[]string{"FAIL  hubspot deals", "outcome: expected ok, got rejected", "reasons: expected null, got [\"field amount: value"}},
		{"request", `params: { limit: "25", `, `params: { limit: "20", `,
			[]string{`FAIL  hubspot companies: request 1 (GET /crm/v3/objects/companies) does not match fixture 001.request.json: query parameter limit: recorded "25", now "20"`}},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			changed := strings.Replace(string(src), e.from, e.to, 1)
			if changed == string(src) {
				t.Fatalf("%q is not in hubspot.yaml", e.from)
			}
			auWriteFile(t, dir, "crm.yaml", changed)
			code, out, errOut := auRun("test", file)
			if code != exitFailed {
				t.Errorf("exit %d, want 1\n%s%s", code, out, errOut)
			}
			for _, w := range e.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}

	// --update accepts the new mapping; the next run passes.
	auWriteFile(t, dir, "crm.yaml", strings.Replace(string(src), "first_name: properties.firstname", "first_name: properties.lastname", 1))
	if code, out, _ := auRun("test", "--update", file); code != exitOK || !strings.Contains(out, "updated hubspot contacts: 100 records") {
		t.Fatalf("test --update: exit %d\n%s", code, out)
	}
	if code, out, _ := auRun("test", file); code != exitOK {
		t.Fatalf("test after --update: exit %d\n%s", code, out)
	}
}

// TestRecordOAuth2: token exchanges are recorded without the token or the
// client secret, and replayed offline.
func TestRecordOAuth2(t *testing.T) {
	const secret, access = "client-secret-9876", "access-token-5555"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if _, pw, _ := r.BasicAuth(); pw != secret && r.FormValue("client_secret") != secret {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600,"refresh_token":"refresh-1111"}`, access)
	})
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+access || r.URL.Query().Get("api_key") != secret {
			http.Error(w, `{"message":"no"}`, http.StatusUnauthorized)
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		w.Header().Set("Content-Type", "application/json")
		if page > 2 {
			fmt.Fprint(w, `{"items":[]}`)
			return
		}
		fmt.Fprintf(w, `{"items":[{"id":%d,"name":"item %d"},{"id":%d,"name":"item %d"}]}`, 2*page-1, 2*page-1, 2*page, 2*page)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t.Setenv("AUTH_TEST_URL", srv.URL)
	t.Setenv("AUTH_TEST_SECRET", secret)
	dir := t.TempDir()
	file := auWriteFile(t, dir, "items.yaml", `version: 1
name: items
source:
  type: http
  base_url: ${env:AUTH_TEST_URL}
  auth: { type: oauth2, token_url: "${env:AUTH_TEST_URL}/oauth/token", client_id: crmsync, client_secret: "${env:AUTH_TEST_SECRET}" }
entities:
  items:
    request: { path: /items, params: { api_key: "${env:AUTH_TEST_SECRET}" } }
    records: items
    paginate: { style: page, limit_param: per_page, limit: 2 }
    primary_key: id
    fields: { id: { path: id, type: integer }, name: name }
`)
	code, out, errOut := auRun("preview", "--record", filepath.Join(dir, "items.fixtures"), file)
	if code != exitOK || !strings.Contains(out, "api_key=%5Bredacted%5D") {
		t.Fatalf("preview: exit %d\n%s%s", code, out, errOut)
	}
	if got := auFiles(t, filepath.Join(dir, "items.fixtures", "items")); len(got) != 9 {
		t.Errorf("want a token exchange, three pages and expected.jsonl, got %v", got)
	}
	for _, s := range []string{secret, access, "refresh-1111"} {
		auNoSecret(t, filepath.Join(dir, "items.fixtures"), s)
	}
	srv.Close()
	t.Setenv("AUTH_TEST_URL", "")
	t.Setenv("AUTH_TEST_SECRET", "")
	code, out, errOut = auRun("test", file)
	if code != exitOK || !strings.Contains(out, "ok    items items: 4 records as expected (4 ok)") {
		t.Fatalf("test: exit %d\n%s%s", code, out, errOut)
	}
}

// TestQuickstartFixtures runs the committed offline tests of the quick
// start, as CI would: no network, no secret.
func TestQuickstartFixtures(t *testing.T) {
	t.Setenv("QUICKSTART_BASE_URL", "")
	t.Setenv("QUICKSTART_TOKEN", "")
	code, out, errOut := auRun("test", filepath.Join(auRoot, "examples", "quickstart"))
	if code != exitOK || !strings.Contains(out, "4 passed, 0 failed, 0 skipped") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestTestUsage(t *testing.T) {
	dir := t.TempDir()
	leads := auQuickstart(t, "leads.yaml")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no file", []string{"test"}, exitUsage, ""},
		{"fixtures with two files", []string{"test", "--fixtures", dir, leads, auQuickstart(t, "hubspot.yaml")}, exitUsage, ""},
		{"named file without fixtures", []string{"test", auWriteFile(t, dir, "x.yaml", checkPipeline("http://127.0.0.1:1", "results"))}, exitFailed,
			"no fixtures folder " + filepath.Join(dir, "x.fixtures") + " (record one: crmsync preview --record"},
		{"entity without exchanges", []string{"test", "--fixtures", dir, filepath.Join(dir, "x.yaml")}, exitFailed,
			"FAIL  crm contacts: no recorded exchanges in " + filepath.Join(dir, "contacts")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, _ := auRun(c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, output:\n%s\nwant exit %d and %q", code, out, c.code, c.want)
			}
		})
	}
}

func auFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// auNoSecret fails when any file under dir holds secret.
func auNoSecret(t *testing.T, dir, secret string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), secret) {
			t.Errorf("%s holds the secret %q", p, secret)
		}
		return nil
	})
}
