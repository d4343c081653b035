package authoring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Replayer serves recorded responses over loopback HTTP. Each entity's
// reader gets a ReplayTransport that checks every request against the
// next fixture and fetches the recorded response from the server, so the
// reader sees real HTTP whatever base URL the pipeline names.
type Replayer struct {
	srv *http.Server
	url string

	mu        sync.Mutex
	responses map[string]*Response
	seq       int
}

// StartReplayer listens on a free loopback port.
func StartReplayer() (*Replayer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the replay server: %w", err)
	}
	p := &Replayer{url: "http://" + ln.Addr().String(), responses: map[string]*Response{}}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// URL is the server's base URL.
func (p *Replayer) URL() string { return p.url }

// Close stops the server.
func (p *Replayer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}

func (p *Replayer) add(r *Response) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	key := "r" + strconv.Itoa(p.seq)
	p.responses[key] = r
	return key
}

func (p *Replayer) serve(w http.ResponseWriter, req *http.Request) {
	p.mu.Lock()
	r := p.responses[strings.TrimPrefix(req.URL.Path, "/")]
	p.mu.Unlock()
	if r == nil {
		http.Error(w, "no such recorded response", http.StatusNotFound)
		return
	}
	for k, v := range r.Header {
		w.Header().Set(k, v)
	}
	body := []byte(r.Text)
	if r.Body != nil {
		body = r.Body
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(r.Status)
	w.Write(body)
}

// Transport answers one entity's requests from its fixtures, in order.
func (p *Replayer) Transport(fixtures []Fixture, red *Redactor) *ReplayTransport {
	return &ReplayTransport{p: p, fx: fixtures, red: red, base: http.DefaultTransport}
}

// ReplayTransport is the http.RoundTripper of one replayed entity.
type ReplayTransport struct {
	p    *Replayer
	fx   []Fixture
	red  *Redactor
	base http.RoundTripper

	mu       sync.Mutex
	next     int
	mismatch error
}

// Wrap fits source.Probe.Wrap: requests reach the replay server through
// the reader's own transport.
func (t *ReplayTransport) Wrap(next http.RoundTripper) http.RoundTripper {
	t.base = next
	return t
}

// Used is how many fixtures were served; Remaining how many are left.
func (t *ReplayTransport) Used() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next
}

// Remaining is how many recorded exchanges have not been asked for yet.
func (t *ReplayTransport) Remaining() int { return len(t.fx) - t.Used() }

// Mismatch is the first request that did not match its fixture, if any.
func (t *ReplayTransport) Mismatch() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mismatch
}

// RoundTrip implements http.RoundTripper.
func (t *ReplayTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readRequestBody(req)
	if err != nil {
		return nil, err
	}
	live := t.red.Request(req, body)
	t.mu.Lock()
	i := t.next
	var fail error
	switch {
	case i >= len(t.fx):
		fail = fmt.Errorf("request %d (%s %s) was not recorded: the fixtures hold %d", i+1, live.Method, pathQuery(live.URL), len(t.fx))
	default:
		if d := requestDiff(t.fx[i].Request, live); d != "" {
			fail = fmt.Errorf("request %d (%s %s) does not match fixture %s%s: %s", i+1, live.Method, pathOf(live.URL), t.fx[i].Name, requestSuffix, d)
		}
	}
	if fail != nil {
		if t.mismatch == nil {
			t.mismatch = fail
		}
		t.mu.Unlock()
		return nil, fail
	}
	t.next++
	t.mu.Unlock()
	key := t.p.add(&t.fx[i].Response)
	out, err := http.NewRequestWithContext(req.Context(), http.MethodGet, t.p.url+"/"+key, nil)
	if err != nil {
		return nil, err
	}
	return t.base.RoundTrip(out)
}

// pathOf is a URL's path: what a mismatch names the request by (the
// difference itself follows).
func pathOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	return raw
}

// requestDiff says how a live request differs from the recorded one, ""
// when it does not. Secrets were replaced in both the same way.
func requestDiff(rec, live Request) string {
	if rec.Method != live.Method {
		return fmt.Sprintf("method: recorded %s, now %s", rec.Method, live.Method)
	}
	ru, _ := url.Parse(pathQuery(rec.URL))
	lu, _ := url.Parse(pathQuery(live.URL))
	if ru == nil || lu == nil {
		if pathQuery(rec.URL) != pathQuery(live.URL) {
			return fmt.Sprintf("url: recorded %q, now %q", pathQuery(rec.URL), pathQuery(live.URL))
		}
	} else {
		if ru.Path != lu.Path {
			return fmt.Sprintf("path: recorded %q, now %q", ru.Path, lu.Path)
		}
		if d := valuesDiff("query parameter", ru.Query(), lu.Query()); d != "" {
			return d
		}
	}
	if d := headerDiff(rec.Header, live.Header); d != "" {
		return d
	}
	switch {
	case rec.Body != nil && live.Body != nil:
		var a, b any
		if decode(rec.Body, &a) == nil && decode(live.Body, &b) == nil {
			if d := jsonDiff("body", a, b); d != "" {
				return d
			}
			return ""
		}
		if !bytes.Equal(rec.Body, live.Body) {
			return fmt.Sprintf("body: recorded %s, now %s", rec.Body, live.Body)
		}
	case rec.Body != nil || live.Body != nil || rec.Text != live.Text:
		return fmt.Sprintf("body: recorded %s, now %s", bodyText(rec), bodyText(live))
	}
	return ""
}

func bodyText(r Request) string {
	if r.Body != nil {
		return string(r.Body)
	}
	if r.Text == "" {
		return "none"
	}
	return strconv.Quote(r.Text)
}

func valuesDiff(what string, rec, live url.Values) string {
	for _, k := range unionKeys(rec, live) {
		a, b := rec[k], live[k]
		if !reflect.DeepEqual(a, b) {
			switch {
			case a == nil:
				return fmt.Sprintf("%s %s: not recorded, now %q", what, k, strings.Join(b, ","))
			case b == nil:
				return fmt.Sprintf("%s %s: recorded %q, now not sent", what, k, strings.Join(a, ","))
			}
			return fmt.Sprintf("%s %s: recorded %q, now %q", what, k, strings.Join(a, ","), strings.Join(b, ","))
		}
	}
	return ""
}

func headerDiff(rec, live map[string]string) string {
	keys := map[string]bool{}
	for k := range rec {
		keys[k] = true
	}
	for k := range live {
		keys[k] = true
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		a, okA := rec[k]
		b, okB := live[k]
		switch {
		case !okA:
			return fmt.Sprintf("header %s: not recorded, now %q", k, b)
		case !okB:
			return fmt.Sprintf("header %s: recorded %q, now not sent", k, a)
		case a != b:
			return fmt.Sprintf("header %s: recorded %q, now %q", k, a, b)
		}
	}
	return ""
}

func unionKeys(a, b url.Values) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []url.Values{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func decode(b []byte, v *any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// jsonDiff names the first place where two decoded JSON values differ.
func jsonDiff(at string, a, b any) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(x)+len(y))
		for k := range x {
			keys = append(keys, k)
		}
		for k := range y {
			if _, dup := x[k]; !dup {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			va, okA := x[k]
			vb, okB := y[k]
			switch {
			case !okA:
				return fmt.Sprintf("%s.%s: not recorded, now %s", at, k, compact(vb))
			case !okB:
				return fmt.Sprintf("%s.%s: recorded %s, now not sent", at, k, compact(va))
			}
			if d := jsonDiff(at+"."+k, va, vb); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			if d := jsonDiff(fmt.Sprintf("%s[%d]", at, i), x[i], y[i]); d != "" {
				return d
			}
		}
		return ""
	default:
		if reflect.DeepEqual(a, b) {
			return ""
		}
	}
	return fmt.Sprintf("%s: recorded %s, now %s", at, compact(a), compact(b))
}

func compact(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSpace(buf.String())
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
