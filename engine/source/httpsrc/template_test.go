package httpsrc

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTemplate(t *testing.T) {
	v := &vars{watermark: "2024-01-02T03:04:05Z", start: "S", end: "E", now: "N",
		parent: `{"id": 5348024557502464, "account": {"id": "AC 1/2"}}`}
	cases := []struct {
		src, want, empty string
		escape           bool
	}{
		{"/crm/v3/objects/contacts", "/crm/v3/objects/contacts", "", false},
		{"{{watermark}}", "2024-01-02T03:04:05Z", "", false},
		{"since={{ watermark }}&to={{ window.end }}&from={{  window.start  }}&at={{ now }}", "since=2024-01-02T03:04:05Z&to=E&from=S&at=N", "", false},
		{"/tasks/{{ parent.id }}/status", "/tasks/5348024557502464/status", "", true},
		{"/a/{{ parent.account.id }}/calls.json", "/a/AC%201%2F2/calls.json", "", true},
		{"/x/{{ parent.missing }}", "/x/", "{{ parent.missing }}", true},
	}
	for _, tc := range cases {
		tp, err := parseTemplate(tc.src)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		var esc func(string) string
		if tc.escape {
			esc = url.PathEscape
		}
		got, empty := tp.render(v, esc)
		if got != tc.want || empty != tc.empty {
			t.Errorf("%q → %q (empty %q), want %q (%q)", tc.src, got, empty, tc.want, tc.empty)
		}
	}
	for _, bad := range []string{"{{ watermark", "{{ }}", "{{ window }}", "{{ parent. }}", "{{ parent.a[ }}", "{{ env.HOME }}"} {
		if _, err := parseTemplate(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestBody: a HubSpot search body renders with the watermark in place,
// the pager's and incremental keys replace or join the top-level keys, and
// constant subtrees are encoded once.
func TestBody(t *testing.T) {
	raw := map[string]any{
		"filterGroups": []any{map[string]any{"filters": []any{
			map[string]any{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "{{ watermark }}"}}}},
		"sorts": []any{"hs_lastmodifieddate"}, "limit": 100, "after": "0", "q": `quote " and <tag>`,
	}
	n, probs := compileBody(raw, "/b")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if n.raw != nil || n.items[4].raw == nil { // keys sorted: after, filterGroups, limit, q, sorts
		t.Fatal("constant parts not folded / variable parts folded")
	}
	got := string(n.appendTo(nil, &vars{watermark: "1704067200000"}, []bodyKV{{"after", []byte(`"200"`)}, {"archived", []byte("false")}}))
	want := `{"filterGroups":[{"filters":[{"operator":"GTE","propertyName":"hs_lastmodifieddate","value":"1704067200000"}]}],"limit":100,"q":"quote \" and \u003ctag\u003e","sorts":["hs_lastmodifieddate"],"after":"200","archived":false}`
	if got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
}

func TestCheckPath(t *testing.T) {
	good := []string{"results", "paging.next.after", "data.#.id", `results.#(archived==false)#`, `a\.b`, "@reverse|0.id", "[@this]", `friends.#(nets.#(=="fb"))#.first`, "{id,name}", `#(name=="a.b").x`}
	bad := []string{"", ".a", "a.", "a..b", "a|", "a[", "a]", "(a", `a\`, `#(name=="x)`, "a.{b"}
	for _, p := range good {
		if err := checkPath(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range bad {
		if err := checkPath(p); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestNextLink(t *testing.T) {
	cases := []struct {
		headers []string
		want    string
	}{
		{[]string{`<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last"`}, "https://api.github.com/repositories/1/issues?page=2"},
		{[]string{`<https://x/?p=1>; rel="prev"; title="a, b; <c>", <https://x/?p=3>; rel=next`}, "https://x/?p=3"},
		{[]string{`<https://x/?p=1>; rel="prev"`, `<https://x/?p=3>; REL="Next Last"`}, "https://x/?p=3"},
		{[]string{`<https://x/?p=1>; rel="prev"`}, ""},
		{[]string{`garbage, <https://x/2>; title="q\"uote,"; rel="next"`}, "https://x/2"},
		{[]string{`<https://x/2>; rel="nextpage"`}, ""},
		{[]string{`<https://x/a,b>; rel="next"; rel="prev"`}, "https://x/a,b"},
		{[]string{`<https://x/a>; rel="prev"; rel="next"`}, ""}, // only the first rel counts
		{nil, ""},
	}
	for _, tc := range cases {
		if got := nextLink(tc.headers); got != tc.want {
			t.Errorf("%q → %q, want %q", tc.headers, got, tc.want)
		}
	}
}

func FuzzParseLinks(f *testing.F) {
	f.Add(`<https://x/?p=2>; rel="next", <https://x/?p=5>; rel="last"`)
	f.Add(`<a>; title="a, \"b; c"; rel=next,`)
	f.Add(`;;<<>>,"`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range parseLinks(s) {
			if strings.ContainsRune(l.uri, '>') {
				t.Fatalf("uri %q holds '>'", l.uri)
			}
		}
	})
}

func TestRetryHeaders(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	h := map[string][]string{"Retry-After": {"Wed, 01 May 2024 12:00:30 GMT"}}
	if d, ok := retryAfter(h, now); !ok || d != 30*time.Second {
		t.Errorf("date Retry-After: %v %v", d, ok)
	}
	h["Retry-After"] = []string{"2.5"}
	if d, ok := retryAfter(h, now); !ok || d != 2500*time.Millisecond {
		t.Errorf("seconds Retry-After: %v %v", d, ok)
	}
	h["Retry-After"] = []string{"soon"}
	if _, ok := retryAfter(h, now); ok {
		t.Error("garbage Retry-After read")
	}
	for v, want := range map[string]time.Time{
		"1714564830":    time.Unix(1714564830, 0),
		"1714564830123": time.UnixMilli(1714564830123),
		"10":            now.Add(10 * time.Second),
	} {
		if got, ok := resetTime(v, now); !ok || !got.Equal(want) {
			t.Errorf("reset %q → %v, want %v", v, got, want)
		}
	}
	p := retryPolicy{attempts: 5, initial: 100 * time.Millisecond, max: time.Second}
	for attempt, hi := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 9: time.Second} {
		for range 20 {
			if d := p.delay(attempt); d < hi/2 || d > hi {
				t.Errorf("attempt %d: delay %v outside [%v, %v]", attempt, d, hi/2, hi)
			}
		}
	}
}

func TestRedactURL(t *testing.T) {
	r := newRedactor([]string{"X-Secret"}, func(s string) string { return strings.ReplaceAll(s, "tok123", "[redacted]") })
	u, _ := url.Parse("https://u:pw@api.example.com/v1/x?a=1&x-secret=abc&hapikey=def&next=tok123")
	if got, want := r.url(u), "https://api.example.com/v1/x?a=1&x-secret=REDACTED&hapikey=REDACTED&next=[redacted]"; got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
}
