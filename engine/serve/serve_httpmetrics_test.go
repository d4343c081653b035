package serve

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHTTPMetricsByHostAndClass: every request a sync sends is counted by
// the source's host and its status class, with its latency; the time spent
// waiting for a rate limit is counted per entity.
func TestHTTPMetricsByHostAndClass(t *testing.T) {
	c := newCRM(t, 30, 10, 0)
	c.setFailing("deals", true)
	dir := t.TempDir()
	yaml := strings.Replace(httpPipeline("crm", c.URL, "every 1h", "contacts", "deals"),
		"  retry: {attempts: 1}\n", "  retry: {attempts: 1}\n  rate_limit: {per_second: 5, burst: 1}\n", 1)
	writeAtomic(t, filepath.Join(dir, "crm.yaml"), yaml)
	s, _ := newScheduler(t, dir, Options{})
	s.Reload(true)
	runScheduler(t, s)
	eventually(t, 20*time.Second, "both entities should have run", func() bool {
		st := getStatus(t, s)
		a, b := entityStatus(st, "crm", "contacts"), entityStatus(st, "crm", "deals")
		return a != nil && a.LastRun != nil && b != nil && b.LastRun != nil
	})
	u, _ := url.Parse(c.URL)
	host := u.Host
	ok := testutil.ToFloat64(s.metrics.http.requests.WithLabelValues(host, "2xx"))
	bad := testutil.ToFloat64(s.metrics.http.requests.WithLabelValues(host, "4xx"))
	// contacts: three pages; deals: one 400, not retried.
	if ok != 3 || bad != 1 {
		t.Errorf("requests to %s: %v 2xx and %v 4xx, want 3 and 1", host, ok, bad)
	}
	if n := testutil.CollectAndCount(s.metrics.http.duration); n != 1 {
		t.Errorf("latency series: %d, want one (the one host)", n)
	}
	// Four requests at 5 per second with a burst of 1: at least 0.4 s of
	// waiting between them, over both entities.
	wait := testutil.ToFloat64(s.metrics.http.rateWait.WithLabelValues("crm", "contacts")) +
		testutil.ToFloat64(s.metrics.http.rateWait.WithLabelValues("crm", "deals"))
	if wait < 0.3 {
		t.Errorf("rate-limit wait %.3f s, want at least 0.3 s", wait)
	}
	if problems, err := testutil.GatherAndLint(s.metrics.Registry); err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}
