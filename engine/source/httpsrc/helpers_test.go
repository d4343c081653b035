package httpsrc

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// seen is one request as the fake server received it.
type seen struct {
	Remote string // client address: one per connection
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
}

// fakeAPI is a loopback server that records every request and answers
// through handle (n is the 1-based number of the request).
type fakeAPI struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body string, n int)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{r.RemoteAddr, r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(b)})
		n := len(f.reqs)
		f.mu.Unlock()
		handle(w, r, string(b), n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// fixture reads a file under testdata.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// pipeline decodes inline YAML with the real loader. BASE is replaced by
// base; ${env:…} reads env.
func pipeline(t *testing.T, yml, base string, env map[string]string) (*config.Pipeline, *config.Document) {
	t.Helper()
	yml = strings.ReplaceAll(yml, "BASE", base)
	d := config.Parse("test.yaml", []byte(yml), config.Options{LookupEnv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}, SettingsTypes: source.SettingsTypes})
	if d.Findings().HasErrors() {
		t.Fatalf("parse: %v", d.Findings())
	}
	p, err := source.Decode(d)
	if err != nil {
		t.Fatal(err)
	}
	return p, d
}

// compileYAML compiles the first entity (or the one named).
func compileYAML(t *testing.T, yml, base string, entity ...string) (source.Opener, []source.Problem) {
	t.Helper()
	p, _ := pipeline(t, yml, base, nil)
	return compileEntityOf(t, p, entity...)
}

func compileEntityOf(t *testing.T, p *config.Pipeline, entity ...string) (source.Opener, []source.Problem) {
	t.Helper()
	e := p.Entities[0]
	if len(entity) > 0 {
		i := slices.IndexFunc(p.Entities, func(e *config.Entity) bool { return e.Name == entity[0] })
		e = p.Entities[i]
	}
	f, ok := source.Lookup("http")
	if !ok {
		t.Fatal("http source not registered")
	}
	return f(&source.Spec{Pipeline: p.Name, Source: &p.Source, Entity: e, Path: "/entities/" + e.Name})
}

// testReader opens a reader for YAML; logs go to the returned buffer.
type testReader struct {
	source.Reader
	logs *bytes.Buffer
}

func openYAML(t *testing.T, yml, base string, env map[string]string, entity ...string) *testReader {
	t.Helper()
	p, d := pipeline(t, yml, base, env)
	o, probs := compileEntityOf(t, p, entity...)
	if o == nil {
		t.Fatalf("compile: %v", probs)
	}
	logs := &bytes.Buffer{}
	var mu sync.Mutex
	redact := func(s string) string {
		mu.Lock()
		defer mu.Unlock()
		for _, sec := range d.Secrets {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
		return s
	}
	r, err := o.Open(context.Background(), &source.Env{
		Logger:  slog.New(slog.NewTextHandler(lockedWriter{&mu, logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Redact:  redact,
		Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testReader{r, logs}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// readAllPages reads every page.
func readAllPages(t *testing.T, r source.Reader, st source.ReadState) ([]source.Page, error) {
	t.Helper()
	var pages []source.Page
	err := r.Read(context.Background(), st, func(p source.Page) error {
		pages = append(pages, p)
		return nil
	})
	return pages, err
}

// ids lists a field of every record of every page, in order.
func ids(pages []source.Page, path string) []string {
	var out []string
	for _, p := range pages {
		for _, r := range p.Records {
			out = append(out, gjson.Get(r.JSON, path).String())
		}
	}
	return out
}

func numbers(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, itoa(i))
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
