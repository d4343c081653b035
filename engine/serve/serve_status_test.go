package serve

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

const brokenPipeline = `version: 1
name: broken
"<script>alert(1)</script>": 1
source: {type: http, base_url: "http://127.0.0.1:1"}
entities:
  items:
    request: {path: /x}
    primary_key: id
    fields: {id: id}
`

// statusFixture runs a scheduler over a healthy pipeline, a failing one
// (its server answers 400 with HTML in the body) and a broken file, until
// both pipelines have run once; it returns the status server's URL.
func statusFixture(t *testing.T) (*Scheduler, string) {
	t.Helper()
	srv := newCRM(t, 12, 5, 0)
	srv.setFailing("deals", true)
	dir := t.TempDir()
	writeAtomic(t, filepath.Join(dir, "healthy.yaml"), httpPipeline("healthy", srv.URL, "every 10s", "contacts"))
	writeAtomic(t, filepath.Join(dir, "failing.yaml"), httpPipeline("failing", srv.URL, "every 10s", "deals"))
	writeAtomic(t, filepath.Join(dir, "broken.yaml"), brokenPipeline)
	s, _ := newScheduler(t, dir, Options{})
	s.Reload(true)
	runScheduler(t, s)
	eventually(t, 10*time.Second, "both pipelines should run", func() bool {
		st := getStatus(t, s)
		h, f := entityStatus(st, "healthy", "contacts"), entityStatus(st, "failing", "deals")
		return h != nil && h.LastRun != nil && f != nil && f.LastRun != nil
	})
	web := httptest.NewServer(s.Handler())
	t.Cleanup(web.Close)
	return s, web.URL
}

func get(t *testing.T, url, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestStatusEndpoints(t *testing.T) {
	t.Parallel()
	_, url := statusFixture(t)
	for _, c := range []struct{ name, path, accept string }{
		{"accept header", "/status", "application/json"},
		{"query", "/status?format=json", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, url+c.path, c.accept)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			var st Status
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatal(err)
			}
			h, f := entityStatus(st, "healthy", "contacts"), entityStatus(st, "failing", "deals")
			if h.State != StateIdle || h.LastRun.Status != sink.StatusSuccess || h.LastRun.Created != 12 || h.NextRun == nil || h.LastSuccess == nil {
				t.Errorf("healthy entity: %+v %+v", h, h.LastRun)
			}
			if f.State != StateFailing || f.LastRun.Status != sink.StatusFailed || !strings.Contains(f.LastError, "upstream exploded") || f.ConsecutiveFailures != 1 {
				t.Errorf("failing entity: %+v", f)
			}
			if len(st.Problems) != 1 || !strings.HasSuffix(st.Problems[0].File, "broken.yaml") || st.Problems[0].Line != 3 || st.Problems[0].Code != "unknown-key" {
				t.Errorf("problems: %+v", st.Problems)
			}
		})
	}
	resp, body := get(t, url+"/status", "text/html")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<h1>crmsync status</h1>") {
		t.Fatalf("html status: %s %q", resp.Header.Get("Content-Type"), body[:min(len(body), 200)])
	}
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/nope": 404} {
		if resp, _ := get(t, url+path, ""); resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestReadyz: not ready before a plan is loaded clean, ready after.
func TestReadyz(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, _ := newScheduler(t, dir, Options{})
	web := httptest.NewServer(s.Handler())
	defer web.Close()
	if resp, body := get(t, web.URL+"/readyz", ""); resp.StatusCode != 503 || !strings.Contains(body, "not been loaded") {
		t.Fatalf("before loading: %d %q", resp.StatusCode, body)
	}
	writeAtomic(t, filepath.Join(dir, "broken.yaml"), brokenPipeline)
	s.Reload(true)
	if resp, body := get(t, web.URL+"/readyz", ""); resp.StatusCode != 503 || !strings.Contains(body, "no pipeline file") {
		t.Fatalf("only a broken file: %d %q", resp.StatusCode, body)
	}
	writeAtomic(t, filepath.Join(dir, "ok.yaml"), httpPipeline("ok", "http://127.0.0.1:1", "", "items"))
	s.Reload(false)
	if resp, body := get(t, web.URL+"/readyz", ""); resp.StatusCode != 200 {
		t.Fatalf("loaded: %d %q", resp.StatusCode, body)
	}
	s.o.Dest.Close()
	if resp, body := get(t, web.URL+"/readyz", ""); resp.StatusCode != 503 || !strings.Contains(body, "destination") {
		t.Fatalf("closed destination: %d %q", resp.StatusCode, body)
	}
}

// TestStatusPageInChromium renders the HTML status page in a real
// headless Chromium and reads what a person would see.
func TestStatusPageInChromium(t *testing.T) {
	t.Parallel()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("no /usr/bin/chromium: install it with apt-get install -y chromium to test the status page in a browser (CI does)")
		}
		t.Fatalf("CI is set and %s is missing: .ci/run installs it", chromium)
	}
	_, url := statusFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+t.TempDir(), "--dump-dom", url+"/status")
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	row := func(entity string) string {
		m := regexp.MustCompile(`(?s)<tr class="entity" data-entity="` + entity + `">.*?</tr>`).FindString(dom)
		if m == "" {
			t.Fatalf("no row for %s in the page:\n%s", entity, dom)
		}
		return m
	}
	healthy, failing := row("contacts"), row("deals")
	for _, want := range []string{`<td class="state ok">idle`, `<td class="status">success</td>`, `<td class="num">12</td>`} {
		if !strings.Contains(healthy, want) {
			t.Errorf("the healthy row lacks %q:\n%s", want, healthy)
		}
	}
	for _, want := range []string{`<td class="state bad">failing (1 failed in a row)`, `<td class="status">failed</td>`,
		`status 400`, `&lt;b&gt;upstream exploded&lt;/b&gt;`} {
		if !strings.Contains(failing, want) {
			t.Errorf("the failing row lacks %q:\n%s", want, failing)
		}
	}
	if strings.Contains(dom, "<b>upstream") || strings.Contains(dom, "<script>alert") {
		t.Error("text from a server or a file reached the page as markup")
	}
	problems := regexp.MustCompile(`(?s)<table id="problems">.*?</table>`).FindString(dom)
	if !strings.Contains(problems, "broken.yaml:3:1") || !strings.Contains(problems, `unknown key "&lt;script&gt;alert(1)&lt;/script&gt;"`) {
		t.Errorf("the reload problems table:\n%s", problems)
	}
}
