package serve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"net/http/httptest"

	"github.com/chromedp/chromedp"
)

// TestStatusPageActionsInChromium drives the status page in a real
// headless Chromium: without a token no action shows; with one entered
// (kept in sessionStorage, never in the URL) run now queues a sync the
// CRM sees, and pause turns the entity paused on the page and for every
// replica (the API's entities say so).
func TestStatusPageActionsInChromium(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("no /usr/bin/chromium: install it with apt-get install -y chromium to test the status page's buttons in a browser (CI does)")
		}
		t.Fatalf("CI is set and %s is missing: .ci/run installs it", chromium)
	}
	c := newCRM(t, 5, 5, 0)
	dir := t.TempDir()
	writeAtomic(t, filepath.Join(dir, "ops.yaml"), httpPipeline("ops", c.URL, "every 1h", "a", "b"))
	const token = "page-token-0123456789abcdef"
	s, log := newScheduler(t, dir, Options{AdminToken: token})
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(log.String())
		}
	})
	s.Reload(true)
	if err := s.OpenQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	srv := httptestServer(t, s)
	eventually(t, 10*time.Second, "a and b should sync once on load", func() bool {
		return len(c.syncsOf("a")) == 1 && len(c.syncsOf("b")) == 1
	})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()))...)
	defer cancelAlloc()
	b, cancelB := chromedp.NewContext(alloc)
	defer cancelB()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	value := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(b, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	shown := func(sel string) bool {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => { const e = document.querySelector(`+"`"+sel+"`"+`); return !!e && getComputedStyle(e).display !== "none"; })()`))
		if err != nil {
			t.Fatalf("is %s shown: %v", sel, err)
		}
		return v
	}
	runA, pauseB := `tr[data-entity="a"] button.run-now`, `tr[data-entity="b"] button.pause`
	run("open /status", chromedp.Navigate(srv+"/status"), chromedp.WaitVisible(chromedp.CSS("#admin-token")))
	if shown(runA) || shown(pauseB) {
		t.Fatal("the action buttons show before a token was entered")
	}
	throughput := value("read the throughput", chromedp.Text(chromedp.CSS(`tr[data-entity="a"] td.throughput`)))
	if !strings.Contains(throughput, "rec/s") {
		t.Errorf("throughput cell %q", throughput)
	}

	run("enter the token", chromedp.SendKeys(chromedp.CSS("#admin-token"), token), chromedp.Click(chromedp.CSS("#admin-save")),
		chromedp.WaitVisible(chromedp.CSS(runA)))
	href := value("read the URL", chromedp.Evaluate[string](`location.href`))
	stored := value("read sessionStorage", chromedp.Evaluate[string](`sessionStorage.getItem("crmsync-admin-token")`))
	if strings.Contains(href, token) || stored != token {
		t.Errorf("href %q, sessionStorage %q: the token belongs in sessionStorage only", href, stored)
	}

	run("click run now", chromedp.Click(chromedp.CSS(runA)))
	eventually(t, 15*time.Second, "run now should sync a again", func() bool { return len(c.syncsOf("a")) == 2 })

	run("reopen and click pause", chromedp.Navigate(srv+"/status"), chromedp.WaitVisible(chromedp.CSS(pauseB)), chromedp.Click(chromedp.CSS(pauseB)))
	eventually(t, 10*time.Second, "b should be paused for every replica", func() bool {
		for _, e := range s.Entities() {
			if e.Entity == "b" {
				return e.Paused
			}
		}
		return false
	})
	run("see b paused", chromedp.Navigate(srv+"/status"), chromedp.WaitVisible(chromedp.CSS(`tr[data-entity="b"] button.resume`)))
	state := value("read b's state", chromedp.Text(chromedp.CSS(`tr[data-entity="b"] td.state`)))
	if !strings.Contains(state, "paused") {
		t.Errorf("b's state on the page: %q, want paused", state)
	}

	// A wrong token: the API refuses it and the page forgets it.
	run("use a wrong token", chromedp.Click(chromedp.CSS("#admin-forget")), chromedp.WaitVisible(chromedp.CSS("#admin-token")),
		chromedp.SendKeys(chromedp.CSS("#admin-token"), "wrong-token-0123456789"), chromedp.Click(chromedp.CSS("#admin-save")),
		chromedp.Click(chromedp.CSS(runA)), chromedp.WaitVisible(chromedp.CSS("#admin-token")))
	msg := value("read the refusal", chromedp.Text(chromedp.CSS("#admin-message")))
	if !strings.Contains(msg, "Bearer token is required") {
		t.Errorf("message after a wrong token: %q", msg)
	}
	if n := len(c.syncsOf("a")); n != 2 {
		t.Errorf("a synced %d times, want 2: a wrong token ran it", n)
	}
}

func httptestServer(t *testing.T, s *Scheduler) string {
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
