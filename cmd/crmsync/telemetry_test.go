package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an in-process OTLP/HTTP trace receiver.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltrace.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Write(b)
}

func attr(s *tracepb.Span, key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			if v := a.Value.GetStringValue(); v != "" {
				return v
			}
			return fmt.Sprint(a.Value.GetIntValue())
		}
	}
	return ""
}

// TestTracesReachAnOTLPReceiver: a real `crmsync run` with the standard
// OTEL_* variables sends a span per sync, page request and batch commit to
// an OTLP receiver, one trace, parents right, secrets redacted, and its log
// lines carry the trace id. Without the variables it sends nothing.
func TestTracesReachAnOTLPReceiver(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Traceparent") != "" {
			t.Errorf("the API was sent a traceparent header")
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("page") == "2" {
			fmt.Fprint(w, `{"results":[{"id":3}]}`)
			return
		}
		fmt.Fprint(w, `{"results":[{"id":1},{"id":2}],"next":"2"}`)
	}))
	defer api.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "traced.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`version: 1
name: traced
source:
  type: http
  base_url: %s
  auth: {type: api_key, query: {api_key: "${env:TRACED_KEY}"}}
entities:
  contacts:
    request: {path: /contacts}
    records: results
    paginate: {style: cursor, cursor: next, param: page}
    primary_key: id
    batch_size: 2
    fields: {id: {path: id, type: integer}}
`, api.URL)), 0o644)
	dsn := "sqlite:" + filepath.Join(dir, "t.db")

	cmd := exec.Command(bin, "run", "--dest", dsn, "--log-format", "json", file)
	cmd.Env = append(os.Environ(), "TRACED_KEY=sekret-key-123", "OTEL_EXPORTER_OTLP_ENDPOINT="+collector.URL, "OTEL_SERVICE_NAME=crmsync-test")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	recv.mu.Lock()
	spans := recv.spans
	recv.mu.Unlock()
	byName := map[string][]*tracepb.Span{}
	for _, s := range spans {
		name := s.Name
		if strings.HasPrefix(name, "HTTP ") {
			name = "HTTP"
		}
		byName[name] = append(byName[name], s)
	}
	syncs, pages, commits := byName["sync traced.contacts"], byName["HTTP"], byName["batch commit"]
	if len(syncs) != 1 || len(pages) != 2 || len(commits) < 2 {
		t.Fatalf("spans: %d sync, %d HTTP, %d batch commit (want 1, 2, ≥2); all: %v", len(syncs), len(pages), len(commits), spans)
	}
	root := syncs[0]
	for _, s := range append(pages, commits...) {
		if string(s.TraceId) != string(root.TraceId) || string(s.ParentSpanId) != string(root.SpanId) {
			t.Errorf("span %q is not a child of the sync's span", s.Name)
		}
	}
	if got := attr(root, "crmsync.created"); got != "3" {
		t.Errorf("sync span: created %q, want 3", got)
	}
	for _, p := range pages {
		if u := attr(p, "url.full"); strings.Contains(u, "sekret") || !strings.Contains(u, "REDACTED") {
			t.Errorf("HTTP span url.full %q: the key must be redacted", u)
		}
		if attr(p, "http.response.status_code") != "200" {
			t.Errorf("HTTP span without its status: %v", p.Attributes)
		}
	}
	traceID := fmt.Sprintf("%x", root.TraceId)
	if !strings.Contains(string(out), `"trace_id":"`+traceID+`"`) {
		t.Errorf("no log line carries the trace id %s:\n%s", traceID, out)
	}

	// Without OTEL_* variables nothing is sent.
	recv.mu.Lock()
	recv.spans = nil
	recv.mu.Unlock()
	cmd = exec.Command(bin, "run", "--full", "--dest", dsn, file)
	cmd.Env = append(os.Environ(), "TRACED_KEY=sekret-key-123")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.spans) != 0 {
		t.Errorf("%d spans sent without OTEL_* settings", len(recv.spans))
	}
}
