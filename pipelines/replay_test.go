package pipelines_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// exchange is one recorded request and its answer (testdata/crm/<crm>/exchanges.yaml).
type exchange struct {
	Run     int               `yaml:"run"` // the sync round it belongs to; 0: any
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Query   map[string]string `yaml:"query"`   // every query parameter, exactly
	Headers map[string]string `yaml:"headers"` // of the answer
	Want    map[string]string `yaml:"want_headers"`
	Body    any               `yaml:"body"` // the JSON body the request must carry
	// BodyHas are texts a body that is not JSON (a SOAP envelope) must
	// contain, after white space between tags is dropped.
	BodyHas []string `yaml:"body_has"`
	Status  int      `yaml:"status"`
	File    string   `yaml:"file"`  // the answer's body
	Times   int      `yaml:"times"` // how often it is served (default 1)

	body []byte // the request body wanted, as compact JSON
}

// replay is an HTTP server that answers only the recorded requests, in
// any order, each as often as recorded; anything else fails the test.
type replay struct {
	*httptest.Server
	t     *testing.T
	dir   string
	check func(*http.Request) error // auth and common headers

	mu   sync.Mutex
	run  int
	ex   []exchange
	used []int
	log  []string
}

func newReplay(t *testing.T, crm string, check func(*http.Request) error) *replay {
	t.Helper()
	dir := filepath.Join("testdata", "crm", crm)
	raw, err := os.ReadFile(filepath.Join(dir, "exchanges.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Exchanges []exchange `yaml:"exchanges"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s/exchanges.yaml: %v", crm, err)
	}
	for i := range doc.Exchanges {
		x := &doc.Exchanges[i]
		if x.Body != nil {
			b, err := json.Marshal(x.Body)
			if err != nil {
				t.Fatalf("%s exchange %d: body: %v", crm, i, err)
			}
			x.body = b
		}
		if x.Times == 0 {
			x.Times = 1
		}
		if x.Status == 0 {
			x.Status = http.StatusOK
		}
		if _, err := os.Stat(filepath.Join(dir, x.File)); x.File != "" && err != nil {
			t.Fatalf("%s exchange %d: %v", crm, i, err)
		}
	}
	r := &replay{t: t, dir: dir, check: check, ex: doc.Exchanges, used: make([]int, len(doc.Exchanges)), run: 1}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

// setRun starts sync round n and forgets the requests seen.
func (r *replay) setRun(n int) {
	r.mu.Lock()
	r.run, r.log = n, nil
	r.mu.Unlock()
}

// served checks that every exchange of round n was used as often as recorded.
func (r *replay) served(t *testing.T, n int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.ex {
		if x.Run == n && r.used[i] != x.Times {
			t.Errorf("run %d: exchange %d (%s %s %v) served %d times, want %d", n, i, x.Method, x.Path, x.Query, r.used[i], x.Times)
		}
	}
}

func (r *replay) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	line := req.Method + " " + req.URL.RequestURI()
	if len(body) > 0 {
		line += " " + string(body)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, line)
	if r.check != nil {
		if err := r.check(req); err != nil {
			r.t.Errorf("request %s: %v", line, err)
			http.Error(w, `{"message":"`+err.Error()+`"}`, http.StatusUnauthorized)
			return
		}
	}
	var why []string
	for i := range r.ex {
		x := &r.ex[i]
		if x.Run != 0 && x.Run != r.run || r.used[i] >= x.Times {
			continue
		}
		if msg := x.mismatch(req, body); msg != "" {
			if x.Method == req.Method && x.Path == req.URL.Path {
				why = append(why, fmt.Sprintf("exchange %d: %s", i, msg))
			}
			continue
		}
		r.used[i]++
		for k, v := range x.Headers {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(x.Status)
		if x.File != "" {
			b, err := os.ReadFile(filepath.Join(r.dir, x.File))
			if err != nil {
				r.t.Errorf("reading %s: %v", x.File, err)
			}
			w.Write(b)
		}
		return
	}
	r.t.Errorf("run %d: unexpected request %s\n  %s", r.run, line, strings.Join(why, "\n  "))
	http.Error(w, `{"message":"no recorded answer"}`, http.StatusNotFound)
}

// mismatch says why a request is not this exchange's ("" when it is).
func (x *exchange) mismatch(req *http.Request, body []byte) string {
	if x.Method != req.Method || x.Path != req.URL.Path {
		return "method or path"
	}
	q := req.URL.Query()
	got := map[string]string{}
	for k, v := range q {
		got[k] = strings.Join(v, ",")
	}
	want := x.Query
	if want == nil {
		want = map[string]string{}
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("query %v, want %v", sorted(got), sorted(want))
	}
	for k, v := range x.Want {
		if req.Header.Get(k) != v {
			return fmt.Sprintf("header %s: %q, want %q", k, req.Header.Get(k), v)
		}
	}
	if len(x.BodyHas) > 0 {
		flat := tagSpace.ReplaceAllString(string(body), "><")
		for _, want := range x.BodyHas {
			if !strings.Contains(flat, want) {
				return fmt.Sprintf("body lacks %q: %s", want, flat)
			}
		}
		return ""
	}
	if x.body == nil {
		if len(body) > 0 {
			return "unexpected body " + string(body)
		}
		return ""
	}
	var a, b any
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Sprintf("body is not JSON: %v", err)
	}
	json.Unmarshal(x.body, &b)
	if !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("body %s, want %s", body, x.body)
	}
	return ""
}

var tagSpace = regexp.MustCompile(`>\s+<`)

func sorted(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s ", k, m[k])
	}
	return strings.TrimSpace(b.String())
}

// wantHeader returns a check that every request carries the header.
func wantHeader(name, value string) func(*http.Request) error {
	return func(r *http.Request) error {
		if got := r.Header.Get(name); got != value {
			return fmt.Errorf("header %s is %q, want the configured credential", name, got)
		}
		return nil
	}
}
