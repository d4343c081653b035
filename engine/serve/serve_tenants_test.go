package serve

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/tenant"
)

// TestTenantsThroughRiver: serve with two tenants (table prefixes, one
// SQLite file) schedules each tenant's instance through River, each
// against its own CRM; one failing does not stop the other, and the
// operator API and history know them by <pipeline>@<tenant>.
func TestTenantsThroughRiver(t *testing.T) {
	t.Parallel()
	good, bad := newCRM(t, 4, 5, 0), newCRM(t, 4, 5, 0)
	bad.setFailing("a", true)
	dir := t.TempDir()
	pipe := strings.Replace(httpPipeline("ops", "${env:OPS_URL}", "every 1h", "a"), "base_url: ${env:OPS_URL}", `base_url: "${env:OPS_URL}"`, 1)
	writeAtomic(t, filepath.Join(dir, "ops.yaml"), pipe)
	tf := filepath.Join(t.TempDir(), "tenants.yaml")
	os.WriteFile(tf, []byte(fmt.Sprintf("tenants:\n  - name: good\n    env: {OPS_URL: %q}\n    table_prefix: good_\n  - name: bad\n    env: {OPS_URL: %q}\n    table_prefix: bad_\n", good.URL, bad.URL)), 0o644)
	set, err := tenant.Load(tf)
	if err != nil {
		t.Fatal(err)
	}
	var ts []Tenant
	for _, tn := range set.Tenants {
		ts = append(ts, Tenant{Tenant: tn})
	}
	const token = "tenant-token-0123456789"
	s, log := newScheduler(t, dir, Options{AdminToken: token, Tenants: ts})
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(log.String())
		}
	})
	if p := s.Reload(true); len(p) > 0 {
		t.Fatal(p)
	}
	if err := s.OpenQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	srv := httptestServer(t, s)
	eventually(t, 10*time.Second, "both tenants should sync on load", func() bool {
		g, b := entityStatus(getStatus(t, s), "ops@good", "a"), entityStatus(getStatus(t, s), "ops@bad", "a")
		return g != nil && g.LastRun != nil && b != nil && b.LastRun != nil
	})
	st := getStatus(t, s)
	if g := entityStatus(st, "ops@good", "a"); g.LastRun.Status != sink.StatusSuccess || g.LastRun.Created != 4 {
		t.Errorf("ops@good a: %+v", g.LastRun)
	}
	if b := entityStatus(st, "ops@bad", "a"); b.LastRun.Status != sink.StatusFailed {
		t.Errorf("ops@bad a: %+v", b.LastRun)
	}
	// The load's job may still be finishing in River (a duplicate then).
	eventually(t, 10*time.Second, "run now should queue ops@good a", func() bool {
		code, rep := post(t, srv+"/api/run", token, `{"pipeline":"ops@good","entity":"a"}`)
		if code != http.StatusOK {
			t.Fatalf("run ops@good a: %d %+v", code, rep)
		}
		return !rep.Duplicate
	})
	eventually(t, 10*time.Second, "run now should sync ops@good again", func() bool { return len(good.syncsOf("a")) == 2 })
	if n := len(bad.syncsOf("a")); n != 1 {
		t.Errorf("the bad tenant's CRM was asked %d times, want 1 (run now was for the good one)", n)
	}
	var page HistoryPage
	getJSON(t, srv+"/api/history?pipeline=ops@good&entity=a", &page)
	if len(page.Syncs) < 1 || page.Syncs[0].Pipeline != "ops@good" {
		t.Errorf("history of ops@good: %+v", page)
	}
}
