package main

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestServeSIGTERMMidSync: SIGTERM during a sync stops scheduling; the
// sync may finish within --grace, or is interrupted and recorded so.
// Either way the process exits 0, the checkpoint is never ahead of the
// committed rows, and the next run reads the rest from there: nothing is
// lost and nothing doubles.
func TestServeSIGTERMMidSync(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		grace      string
		wantStatus string
	}{
		{"a short grace interrupts the sync", "200ms", sink.StatusInterrupted},
		{"a long grace lets it finish", "30s", sink.StatusSuccess},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			const n = 80
			crm := newServeCRM(t, n, 10, 200*time.Millisecond)
			dir, work := t.TempDir(), t.TempDir()
			dbPath := filepath.Join(work, "crm.db")
			writeFileAtomic(t, filepath.Join(dir, "tidy.yaml"),
				crmPipeline{name: "tidy", url: crm.URL, schedule: "every 10s", entities: []string{"items"}, incremental: true}.String())
			p := startServe(t, nil, "--dir", dir, "--dest", "sqlite:"+dbPath, "--addr", "127.0.0.1:0", "--grace", c.grace).listening()
			db := openDB(t, dbPath)
			waitFor(t, 10*time.Second, "a first batch should commit", func() bool { return count(db, `SELECT count(*) FROM tidy_items`) >= 10 })
			p.signal(syscall.SIGTERM)
			if code := p.wait(40 * time.Second); code != 0 {
				t.Fatalf("exit status %d", code)
			}
			grace := len(p.logLines("Grace period over")) > 0
			if grace != (c.wantStatus == sink.StatusInterrupted) {
				t.Fatalf("grace period over logged: %v", grace)
			}

			dest, err := sink.Open(context.Background(), "sqlite:"+dbPath)
			if err != nil {
				t.Fatal(err)
			}
			defer dest.Close()
			ctx := context.Background()
			hist, _ := dest.History(ctx, sink.Filter{Pipeline: "tidy", Entity: "items"})
			if len(hist) != 1 || hist[0].Status != c.wantStatus {
				t.Fatalf("history %+v, want one %s sync", hist, c.wantStatus)
			}
			rows, maxID := count(db, `SELECT count(*) FROM tidy_items`), count(db, `SELECT max(id) FROM tidy_items`)
			if rows != maxID || rows%10 != 0 || (c.wantStatus == sink.StatusSuccess && rows != n) {
				t.Fatalf("%d rows, highest id %d: committed rows must be whole batches from the start", rows, maxID)
			}
			cp, _ := dest.Checkpoint(ctx, "tidy", "items")
			if want := crmEpoch.Add(time.Duration(maxID) * time.Second).Format(time.RFC3339); cp.Watermark != want {
				t.Fatalf("checkpoint %q, want %q: the newest committed row", cp.Watermark, want)
			}

			// The next run reads on from the checkpoint.
			once := startServe(t, nil, "--dir", dir, "--dest", "sqlite:"+dbPath, "--once")
			if code := once.wait(20 * time.Second); code != 0 {
				t.Fatalf("serve --once: exit status %d", code)
			}
			if got := count(db, `SELECT count(*) FROM tidy_items`); got != n {
				t.Fatalf("%d rows after the next run, want %d", got, n)
			}
			syncs := crm.syncsOf("items")
			if len(syncs) != 2 || syncs[1] != cp.Watermark {
				t.Fatalf("first requests' since=: %q, want the second from %q", syncs, cp.Watermark)
			}
			if !strings.Contains(once.stdout.String(), "success") {
				t.Fatalf("--once printed no summary: %q", once.stdout.String())
			}
		})
	}
}

// TestServeOnceExitCodes: --once exits as run does.
func TestServeOnceExitCodes(t *testing.T) {
	t.Parallel()
	good := newServeCRM(t, 5, 10, 0)
	rejecting := newServeCRM(t, 5, 10, 0)
	rejecting.badEmail = 3
	cases := []struct {
		name string
		file string
		want int
	}{
		{"every sync succeeds", crmPipeline{name: "ok", url: good.URL, entities: []string{"a", "b"}}.String(), exitOK},
		{"a sync fails", crmPipeline{name: "down", url: "http://127.0.0.1:1", entities: []string{"a"}}.String(), exitFailed},
		{"a record is rejected", crmPipeline{name: "rej", url: rejecting.URL, entities: []string{"a"}}.String(), exitPartial},
		{"a file has problems", "version: 1\nname: x\nentities: {a: {fields: {id: id}}}\n", exitUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFileAtomic(t, filepath.Join(dir, "p.yaml"), c.file)
			p := startServe(t, nil, "--dir", dir, "--dest", "sqlite:"+filepath.Join(t.TempDir(), "db"), "--once")
			if code := p.wait(20 * time.Second); code != c.want {
				t.Fatalf("exit status %d, want %d\n%s", code, c.want, p.log())
			}
		})
	}
}
