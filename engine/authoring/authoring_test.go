package authoring

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
	_ "github.com/crmsync/crmsync/engine/source/httpsrc" // the tests' pipelines read http
)

func testPlan(t *testing.T) *pipeline.Plan {
	t.Helper()
	t.Setenv("AUTHORING_KEY", "key-0123456789")
	plan, findings := pipeline.Load("crm.yaml", []byte(`version: 1
name: crm
source:
  type: http
  base_url: https://crm.example
  auth: { type: api_key, headers: { X-Custom-Key: "${env:AUTHORING_KEY}" }, query: { k: "${env:AUTHORING_KEY}" } }
entities:
  items:
    request: { path: /items }
    primary_key: id
    fields: { id: id }
`), pipeline.Options{})
	if findings.HasErrors() {
		t.Fatal(findings)
	}
	return plan
}

func TestRedactor(t *testing.T) {
	red := NewRedactor(testPlan(t))
	const key = "key-0123456789"
	req, _ := http.NewRequest("POST", "https://u:pw@crm.example/items?k="+key+"&api_key=abc&page=2", strings.NewReader("client_secret=s3&grant_type=client_credentials&note="+key))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("X-Custom-Key", key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "crmsync/1.2.3")
	r := red.Request(req, []byte("client_secret=s3&grant_type=client_credentials&note="+key))
	if r.URL != "https://crm.example/items?k=%5Bredacted%5D&api_key=%5Bredacted%5D&page=2" {
		t.Errorf("url %q", r.URL)
	}
	if r.Header["Authorization"] != Redacted || r.Header["X-Custom-Key"] != Redacted || r.Header["User-Agent"] != "" {
		t.Errorf("headers %v", r.Header)
	}
	if r.Text != "client_secret=%5Bredacted%5D&grant_type=client_credentials&note=[redacted]" {
		t.Errorf("form %q", r.Text)
	}
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {"sid=1"},
		"X-Hubspot-Ratelimit-Remaining": {"0"}, "Link": {"<https://crm.example/items?page=3>; rel=\"next\""}}}
	out := red.Response(resp, []byte(`{"access_token":"at-1","refresh_token":"rt-1","expires_in":3600,"echo":"`+key+`"}`))
	if got := string(out.Body); got != `{"access_token":"[redacted]","refresh_token":"[redacted]","expires_in":3600,"echo":"[redacted]"}` {
		t.Errorf("body %s", got)
	}
	if _, ok := out.Header["X-Hubspot-Ratelimit-Remaining"]; ok || out.Header["Set-Cookie"] != Redacted || out.Header["Link"] == "" {
		t.Errorf("response headers %v", out.Header)
	}
}

func TestRequestDiff(t *testing.T) {
	base := Request{Method: "POST", URL: "/s?limit=10&a=1", Header: map[string]string{"Accept": "application/json"},
		Body: []byte(`{"filters":[{"value":"1"}],"limit":10}`)}
	cases := []struct {
		name string
		edit func(*Request)
		want string
	}{
		{"same, other host and key order", func(r *Request) {
			r.URL = "http://127.0.0.1:9/s?a=1&limit=10"
			r.Body = []byte(`{"limit":10,"filters":[{"value":"1"}]}`)
		}, ""},
		{"method", func(r *Request) { r.Method = "GET" }, "method: recorded POST, now GET"},
		{"path", func(r *Request) { r.URL = "/t?limit=10&a=1" }, `path: recorded "/s", now "/t"`},
		{"query", func(r *Request) { r.URL = "/s?limit=20&a=1" }, `query parameter limit: recorded "10", now "20"`},
		{"new param", func(r *Request) { r.URL = "/s?limit=10&a=1&b=2" }, `query parameter b: not recorded, now "2"`},
		{"header", func(r *Request) { r.Header = map[string]string{"Accept": "text/csv"} }, `header Accept: recorded "application/json", now "text/csv"`},
		{"body", func(r *Request) { r.Body = []byte(`{"filters":[{"value":"2"}],"limit":10}`) }, `body.filters[0].value: recorded "1", now "2"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			live := base
			c.edit(&live)
			if got := requestDiff(base, live); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	a := `{"outcome":"ok","id":"1","record":{"id":1,"amount":12.50,"email":"a@x.com"}}`
	cases := []struct {
		name      string
		want, got []string
		diffs     []string
	}{
		{"equal", []string{a}, []string{a}, nil},
		{"value", []string{a}, []string{strings.Replace(a, "a@x.com", "b@x.com", 1)}, []string{`record 1 (id 1): field email: expected "a@x.com", got "b@x.com"`}},
		{"decimal scale", []string{a}, []string{strings.Replace(a, "12.50", "12.5", 1)}, []string{`record 1 (id 1): field amount: expected 12.50, got 12.5`}},
		{"outcome and reasons", []string{a}, []string{`{"outcome":"rejected","id":"1","record":{"id":1,"amount":12.50,"email":"a@x.com"},"reasons":["field email: bad"]}`},
			[]string{"record 1 (id 1): outcome: expected ok, got rejected", `record 1 (id 1): reasons: expected null, got ["field email: bad"]`}},
		{"missing", []string{a, a}, []string{a}, []string{"expected 2 records, got 1", "record 2 (id 1): expected, but not produced"}},
		{"field gone", []string{a}, []string{`{"outcome":"ok","id":"1","record":{"id":1,"amount":12.50}}`}, []string{`record 1 (id 1): field email: expected "a@x.com", but the field is gone`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Compare(c.want, c.got, 0)
			if strings.Join(got, "\n") != strings.Join(c.diffs, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.diffs, "\n"))
			}
		})
	}
}

func TestMissingScopes(t *testing.T) {
	cases := map[string]string{
		`{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredGranularScopes":["crm.objects.contacts.read"]}}],"links":{"scopes":"https://developers.hubspot.com/scopes"},"category":"MISSING_SCOPES"}`: "crm.objects.contacts.read",
		`{"errors":[{"context":{"requiredScopes":["contacts","owners"]}}]}`: "contacts,owners",
		`{"error":"insufficient_scope","missing_scopes":"tasks:read"}`:      "tasks:read",
		`{"message":"Forbidden"}`: "",
	}
	for body, want := range cases {
		if got := strings.Join(missingScopes(body), ","); got != want {
			t.Errorf("%s: got %q, want %q", body, got, want)
		}
	}
}

// TestFixtures: only successful exchanges are stored, old files go, and
// what is loaded is what was written.
func TestFixtures(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "items")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "009.request.json"), []byte("{}"), 0o644)
	ok := func(n string) Exchange {
		return Exchange{Request: Request{Method: "GET", URL: "https://crm.example/items?page=" + n},
			Response: &Response{Status: 200, Body: []byte(`{"results":[{"id":` + n + `,"note":"a<b"}]}`)}}
	}
	limited := Exchange{Request: Request{Method: "GET", URL: "https://crm.example/items?page=2"}, Response: &Response{Status: 429}}
	n, err := WriteFixtures(dir, []Exchange{ok("1"), limited, ok("2")})
	if err != nil || n != 2 {
		t.Fatalf("n %d, err %v", n, err)
	}
	got, err := LoadFixtures(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "001" || got[1].Request.URL != "/items?page=2" || string(got[1].Response.Body) != `{"results":[{"id":2,"note":"a<b"}]}` {
		t.Errorf("loaded %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "009.request.json")); !os.IsNotExist(err) {
		t.Error("an old fixture file was left")
	}
	// One record a line, HTML characters as they were.
	b, _ := os.ReadFile(filepath.Join(dir, "001.response.json"))
	if !bytes.Contains(b, []byte("\n      {\"id\":1,\"note\":\"a<b\"}\n")) {
		t.Errorf("layout:\n%s", b)
	}
}

// TestRecorderKeepsBody: the reader still gets the whole body after the
// recorder read it.
func TestRecorderKeepsBody(t *testing.T) {
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`[1,2]`))}, nil
	})
	rec := NewRecorder(rt, NewRedactor(testPlan(t)))
	req, _ := http.NewRequest("POST", "https://crm.example/x", strings.NewReader(`{"a":1}`))
	resp, err := rec.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	xs := rec.Exchanges()
	if string(body) != "[1,2]" || len(xs) != 1 || string(xs[0].Request.Body) != `{"a":1}` || string(xs[0].Response.Body) != "[1,2]" {
		t.Errorf("body %q, exchanges %+v", body, xs)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
