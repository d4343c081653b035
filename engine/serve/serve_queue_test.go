package serve

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestQueueReload: with River (on the SQLite destination), hot reload
// adds, replaces and removes the entities' periodic jobs: a removed
// entity stops syncing, an added one starts, a schedule moved to once an
// hour stops the ticks after the one it runs on load.
func TestQueueReload(t *testing.T) {
	t.Parallel()
	c := newCRM(t, 5, 5, 0)
	dir := t.TempDir()
	f := filepath.Join(dir, "q.yaml")
	writeAtomic(t, f, httpPipeline("q", c.URL, "every 1s", "a", "b"))
	s, log := newScheduler(t, dir, Options{})
	if p := s.Reload(true); len(p) != 0 {
		t.Fatal(p)
	}
	if err := s.OpenQueue(context.Background()); err != nil {
		t.Fatal(err)
	}
	runScheduler(t, s)
	eventually(t, 15*time.Second, "a and b should each sync twice", func() bool {
		return len(c.syncsOf("a")) >= 2 && len(c.syncsOf("b")) >= 2
	})
	if v, _ := metricValue(t, s.Metrics().Registry, "crmsync_leader", nil); v != 1 {
		t.Errorf("crmsync_leader = %v, want 1 (the only client leads)", v)
	}
	if q := getStatus(t, s).Queue; q == nil || !q.Leader || q.ClientID == "" {
		t.Errorf("/status queue: %+v, want this process as leader", q)
	}

	// b goes, c comes.
	writeAtomic(t, f, httpPipeline("q", c.URL, "every 1s", "a", "c"))
	s.Reload(false)
	eventually(t, 10*time.Second, "c should sync", func() bool { return len(c.syncsOf("c")) >= 2 })
	time.Sleep(1500 * time.Millisecond) // a b job queued before the reload may still run
	nb, na := len(c.syncsOf("b")), len(c.syncsOf("a"))
	time.Sleep(3 * time.Second)
	if n := len(c.syncsOf("b")); n != nb {
		t.Errorf("b synced %d more time(s) after it was removed", n-nb)
	}
	if n := len(c.syncsOf("a")); n < na+2 {
		t.Errorf("a synced %d time(s) in 3 s, want at least 2", n-na)
	}

	// Once an hour: the ticks stop.
	writeAtomic(t, f, httpPipeline("q", c.URL, "every 1h", "a", "c"))
	s.Reload(false)
	time.Sleep(2500 * time.Millisecond)
	na = len(c.syncsOf("a"))
	time.Sleep(3 * time.Second)
	if n := len(c.syncsOf("a")); n != na {
		t.Errorf("a synced %d time(s) after its schedule moved to every 1h", n-na)
	}
	if n := log.count(`"level":"ERROR"`); n > 0 {
		t.Errorf("%d errors logged:\n%s", n, log.String())
	}
}
