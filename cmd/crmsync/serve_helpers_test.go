package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/crmsync/crmsync/engine/serve"
)

// TestServeHelperProcess is not a test: it is the crmsync process the
// serve tests start, by running this test binary again (no go build).
func TestServeHelperProcess(t *testing.T) {
	if os.Getenv("CRMSYNC_SERVE_HELPER") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// serveProc is a running `crmsync serve` (or `serve --once`) process.
type serveProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string // stderr, one log line each
	stdout strings.Builder
	addr   string
	done   chan struct{}
	code   int
}

func startServe(t *testing.T, env []string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], append([]string{"-test.run=^TestServeHelperProcess$", "--", "serve", "--log-format", "json"}, args...)...)
	p.cmd.Env = append(append(os.Environ(), "CRMSYNC_SERVE_HELPER=1"), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = &lockedWriter{mu: &p.mu, w: &p.stdout}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("log of serve pid %d:\n%s", p.cmd.Process.Pid, p.log())
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

var addrRE = regexp.MustCompile(`"addr":"([^"]+)"`)

// listening waits for the HTTP server and remembers its address.
func (p *serveProc) listening() *serveProc {
	p.t.Helper()
	line := p.waitLog(10*time.Second, "Serving /healthz")
	p.addr = addrRE.FindStringSubmatch(line)[1]
	return p
}

func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// logLines returns the log lines holding every one of subs.
func (p *serveProc) logLines(subs ...string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
next:
	for _, l := range p.lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// waitLog waits for a log line holding every one of subs and returns it.
func (p *serveProc) waitLog(within time.Duration, subs ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ls := p.logLines(subs...); len(ls) > 0 {
			return ls[0]
		}
		select {
		case <-p.done:
			p.t.Fatalf("serve exited (%d) before logging %q:\n%s", p.code, subs, p.log())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("serve did not log %q within %s:\n%s", subs, within, p.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *serveProc) signal(sig syscall.Signal) {
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *serveProc) wait(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(within):
		p.t.Fatalf("serve did not exit within %s", within)
		return -1
	}
}

func (p *serveProc) get(path, accept string) (int, string) {
	p.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+p.addr+path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (p *serveProc) status() serve.Status {
	p.t.Helper()
	code, body := p.get("/status", "application/json")
	var st serve.Status
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		p.t.Fatalf("/status: %d %v %q", code, err, body)
	}
	return st
}

func entityOf(st serve.Status, pipeline, entity string) *serve.EntityStatus {
	for _, pl := range st.Pipelines {
		for i, e := range pl.Entities {
			if pl.Name == pipeline && e.Name == entity {
				return &pl.Entities[i]
			}
		}
	}
	return nil
}

func pipelineOf(st serve.Status, name string) *serve.PipelineStatus {
	for i := range st.Pipelines {
		if st.Pipelines[i].Name == name {
			return &st.Pipelines[i]
		}
	}
	return nil
}

// metrics scrapes /metrics and parses it as Prometheus does.
func (p *serveProc) metrics() (map[string]*dto.MetricFamily, string) {
	p.t.Helper()
	code, body := p.get("/metrics", "")
	if code != 200 {
		p.t.Fatalf("/metrics: %d", code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		p.t.Fatalf("parsing /metrics: %v", err)
	}
	return fams, body
}

// sample finds one series by its labels; ok is false when absent.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func lineOf(content, sub string) int {
	i := strings.Index(content, sub)
	if i < 0 {
		panic(fmt.Sprintf("%q not in the content", sub))
	}
	return 1 + strings.Count(content[:i], "\n")
}
