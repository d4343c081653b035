package httpsrc

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// withCreds is an entity whose every request carries credentials in a
// header, a query parameter and a configured header; ALLOW is replaced by
// the allow_origins list, METHOD by the method.
const withCreds = `
version: 1
name: t
source:
  type: http
  base_url: BASE
  timeout: 5s
  retry: {attempts: 2, initial: 10ms, max: 20ms}
  headers: {X-Custom: "${env:KEY}"}
  auth: {type: api_key, headers: {X-Auth-Key: "${env:KEY}"}, query: {hapikey: "${env:KEY}"}}
  allow_origins: [ALLOW]
entities:
  items:
    request: {method: METHOD, path: /items, BODY}
    records: data
    PAGINATE
    fields: {id: id}
`

// credsOf lists the credentials a request carried.
func credsOf(q seen) []string {
	var out []string
	for _, h := range []string{"X-Auth-Key", "X-Custom", "Authorization", "Referer"} {
		if q.Header.Get(h) != "" {
			out = append(out, h)
		}
	}
	if q.Query.Has("hapikey") {
		out = append(out, "hapikey")
	}
	if strings.Contains(fmt.Sprint(q), "sekrit") {
		out = append(out, "sekrit")
	}
	return out
}

func credsYAML(allow, method, paginate string) string {
	body := "params: {}"
	if method == "POST" {
		body = "body: {filter: x}"
	}
	return strings.NewReplacer("ALLOW", allow, "METHOD", method, "BODY", body, "PAGINATE", paginate).Replace(withCreds)
}

// TestRedirects: a redirect stays on the request's origin; to another
// origin it is an error naming both URLs (redacted) unless allow_origins
// lists it, and then it is followed without any credentials. A redirect
// that would turn a POST into a GET is an error, and so is an 11th.
func TestRedirects(t *testing.T) {
	const ok = `{"data":[{"id":1},{"id":2}]}`
	cases := []struct {
		name     string
		method   string
		allow    bool // allow_origins lists the other server
		home     func(w http.ResponseWriter, r *http.Request, n int, other string)
		wantErr  string // "" = success; BASE and OTHER are replaced
		homeReqs int
		// credentials each request to the other server carried
		otherCreds [][]string
	}{
		{"same origin", "GET", false, func(w http.ResponseWriter, r *http.Request, n int, _ string) {
			if n == 1 {
				http.Redirect(w, r, "/moved?"+r.URL.RawQuery, http.StatusFound)
				return
			}
			writeJSON(w, 200, []byte(ok))
		}, "", 2, nil},
		{"other origin", "GET", false, func(w http.ResponseWriter, r *http.Request, n int, other string) {
			http.Redirect(w, r, other+"/cdn/items.json", http.StatusFound)
		}, `entity "items": page 1: GET BASE/items?hapikey=REDACTED: redirect 302 goes to another origin, from BASE/items?hapikey=REDACTED to OTHER/cdn/items.json; not followed (list OTHER in source.allow_origins to follow it without credentials) (after 1 try)`, 1, nil},
		{"other origin with the key in the URL", "GET", false, func(w http.ResponseWriter, r *http.Request, n int, other string) {
			http.Redirect(w, r, other+"/cdn?"+r.URL.RawQuery, http.StatusMovedPermanently)
		}, `to OTHER/cdn?hapikey=REDACTED; not followed`, 1, nil},
		{"allowed origin", "GET", true, func(w http.ResponseWriter, r *http.Request, n int, other string) {
			http.Redirect(w, r, other+"/cdn/items.json?"+r.URL.RawQuery+"&sig=abc", http.StatusFound)
		}, "", 1, [][]string{nil}},
		{"allowed origin and back", "GET", true, func(w http.ResponseWriter, r *http.Request, n int, other string) {
			if n == 1 {
				http.Redirect(w, r, other+"/bounce", http.StatusTemporaryRedirect)
				return
			}
			if c := credsOf(seen{Header: r.Header, Query: r.URL.Query()}); len(c) > 0 {
				http.Error(w, "credentials came back: "+strings.Join(c, ","), 400)
				return
			}
			writeJSON(w, 200, []byte(ok))
		}, "", 2, [][]string{nil}},
		{"POST turned into GET", "POST", false, func(w http.ResponseWriter, r *http.Request, n int, _ string) {
			http.Redirect(w, r, "/search2", http.StatusFound)
		}, `entity "items": page 1: POST BASE/items?hapikey=REDACTED: redirect 302 from BASE/items?hapikey=REDACTED to BASE/search2 would turn the POST into a GET without its body; not followed`, 1, nil},
		{"POST 303", "POST", false, func(w http.ResponseWriter, r *http.Request, n int, _ string) {
			http.Redirect(w, r, "/search2", http.StatusSeeOther)
		}, `redirect 303 from`, 1, nil},
		{"POST 307 keeps method and body", "POST", false, func(w http.ResponseWriter, r *http.Request, n int, _ string) {
			if n == 1 {
				http.Redirect(w, r, "/search2?"+r.URL.RawQuery, http.StatusTemporaryRedirect)
				return
			}
			if r.Method != "POST" || r.Header.Get("X-Auth-Key") != "sekrit-key" {
				http.Error(w, "lost", 400)
				return
			}
			writeJSON(w, 200, []byte(ok))
		}, "", 2, nil},
		{"redirect loop", "GET", false, func(w http.ResponseWriter, r *http.Request, n int, _ string) {
			http.Redirect(w, r, fmt.Sprintf("/loop%d", n), http.StatusFound)
		}, `: more than 10 redirects (the last: 302 from BASE/loop10 to BASE/loop11); not followed`, 11, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			other := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				if r.URL.Path == "/bounce" {
					http.Redirect(w, r, r.Header.Get("X-Home")+"/back", http.StatusTemporaryRedirect)
					return
				}
				writeJSON(w, 200, []byte(ok))
			})
			var home *fakeAPI
			home = newFake(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
				if r.URL.Path == "/items" && tc.method == "POST" && body != `{"filter":"x"}` {
					http.Error(w, "no body", 400)
					return
				}
				tc.home(w, r, n, other.URL)
			})
			// /bounce sends the client back home.
			other.Config.Handler = bounceTo(home.URL, other.Config.Handler)
			allow := "https://cdn.example.com"
			if tc.allow {
				allow = other.URL
			}
			r := openYAML(t, credsYAML(allow, tc.method, ""), home.URL, map[string]string{"KEY": "sekrit-key"})
			pages, err := readAllPages(t, r, source.ReadState{})
			if strings.Contains(fmt.Sprint(err), "sekrit") || strings.Contains(r.logs.String(), "sekrit") {
				t.Errorf("secret leaked: %v\n%s", err, r.logs)
			}
			if n := len(home.requests()); n != tc.homeReqs {
				t.Errorf("%d requests at home, want %d", n, tc.homeReqs)
			}
			var oc [][]string
			for _, q := range other.requests() {
				oc = append(oc, credsOf(q))
			}
			if fmt.Sprint(oc) != fmt.Sprint(tc.otherCreds) {
				t.Errorf("the other origin got requests with credentials %v, want %v", oc, tc.otherCreds)
			}
			if tc.wantErr != "" {
				want := strings.NewReplacer("BASE", home.URL, "OTHER", other.URL).Replace(tc.wantErr)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err %v\nwant %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, []string{"1", "2"}) {
				t.Fatalf("ids %v", got)
			}
		})
	}
}

// bounceTo makes /bounce redirect to home's /back.
func bounceTo(home string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("X-Home", home)
		next.ServeHTTP(w, r)
	})
}

// TestNextLinkOrigins: a next link (body or Link header) to another origin
// stops the read with an error naming the page and both URLs, unless
// allow_origins lists it: then the page is read without credentials.
func TestNextLinkOrigins(t *testing.T) {
	cases := []struct {
		name, paginate string
		allow          bool
		wantErr        string
	}{
		{"next_url", "paginate: {style: next_url, next_url: next}", false,
			`entity "items": page 1: next link goes to another origin, from BASE/items?hapikey=REDACTED to OTHER/page2?hapikey=REDACTED; not followed (list OTHER in source.allow_origins to follow it without credentials)`},
		{"link_header", "paginate: {style: link_header}", false,
			`entity "items": page 1: next link goes to another origin, from BASE/items?hapikey=REDACTED to OTHER/page2?hapikey=REDACTED; not followed`},
		{"next_url allowed", "paginate: {style: next_url, next_url: next}", true, ""},
		{"link_header allowed", "paginate: {style: link_header}", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			other := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				writeJSON(w, 200, []byte(`{"data":[{"id":2}]}`))
			})
			home := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				next := other.URL + "/page2?" + r.URL.RawQuery // the server echoes the key
				w.Header().Set("Link", "<"+next+`>; rel="next"`)
				writeJSON(w, 200, []byte(`{"data":[{"id":1}],"next":"`+next+`"}`))
			})
			allow := "https://cdn.example.com"
			if tc.allow {
				allow = other.URL
			}
			r := openYAML(t, credsYAML(allow, "GET", tc.paginate), home.URL, map[string]string{"KEY": "sekrit-key"})
			pages, err := readAllPages(t, r, source.ReadState{})
			if strings.Contains(fmt.Sprint(err), "sekrit") {
				t.Errorf("secret leaked: %v", err)
			}
			if tc.wantErr != "" {
				want := strings.NewReplacer("BASE", home.URL, "OTHER", other.URL).Replace(tc.wantErr)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err %v\nwant %s", err, want)
				}
				if n := len(other.requests()); n != 0 {
					t.Errorf("%d requests to the other origin", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, []string{"1", "2"}) {
				t.Fatalf("ids %v", got)
			}
			oq := other.requests()
			if len(oq) != 1 || len(credsOf(oq[0])) != 0 {
				t.Fatalf("other origin requests %+v", oq)
			}
			if hq := home.requests(); len(hq) != 1 || !slices.Equal(credsOf(hq[0]), []string{"X-Auth-Key", "X-Custom", "hapikey", "sekrit"}) {
				t.Fatalf("home requests %+v", hq)
			}
		})
	}
}
