package serve

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestRiverUI: riverui under /riverui/ shows the sync jobs, on SQLite and
// PostgreSQL, only with the operator token (Bearer, or Basic auth's
// password for a browser); refused when serve has no token.
func TestRiverUI(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "crmsync.db")
			if kind == "postgres" {
				dsn = pgDSN(t)
			}
			dest, err := sink.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { dest.Close() })
			c := newCRM(t, 5, 5, 0)
			dir := t.TempDir()
			writeAtomic(t, filepath.Join(dir, "ops.yaml"), httpPipeline("ops", c.URL, "every 1h", "a"))
			const token = "riverui-token-0123456789"
			s, log := newScheduler(t, dir, Options{AdminToken: token})
			s.o.Dest = dest
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
			eventually(t, 10*time.Second, "a should sync on load", func() bool { return len(c.syncsOf("a")) == 1 })

			do := func(path string, auth func(*http.Request)) (int, string, http.Header) {
				t.Helper()
				req, _ := http.NewRequest("GET", srv+path, nil)
				if auth != nil {
					auth(req)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b), resp.Header
			}
			basic := func(pass string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth("ops", pass) } }
			bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }

			for name, auth := range map[string]func(*http.Request){"none": nil, "wrong password": basic("nope-0123456789"),
				"wrong bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }} {
				code, _, h := do("/riverui/", auth)
				if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("%s: %d %q, want 401 asking for Basic auth", name, code, h.Get("WWW-Authenticate"))
				}
			}
			code, body, _ := do("/riverui/", basic(token))
			if code != 200 || !strings.Contains(body, "<html") || !strings.Contains(body, "/riverui/assets/") {
				t.Fatalf("/riverui/ with the token: %d\n%.400s", code, body)
			}
			eventually(t, 10*time.Second, "riverui should list the completed sync job", func() bool {
				code, body, _ = do("/riverui/api/jobs?state=completed&limit=20", bearer)
				var list struct {
					Data []struct{ Kind, Args string }
				}
				if code != 200 || json.Unmarshal([]byte(body), &list) != nil {
					return false
				}
				for _, j := range list.Data {
					var a SyncArgs
					if j.Kind == "crmsync_sync" && json.Unmarshal([]byte(j.Args), &a) == nil && a == (SyncArgs{"ops", "a"}) {
						return true
					}
				}
				return false
			})

			// Without a token configured riverui is off.
			off, _ := newScheduler(t, dir, Options{})
			offSrv := httptestServer(t, off)
			resp, err := http.Get(offSrv + "/riverui/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("riverui without --admin-token: %d, want 403", resp.StatusCode)
			}
		})
	}
}
