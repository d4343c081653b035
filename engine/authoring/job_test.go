package authoring

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/crmsync/crmsync/engine/pipeline"
)

// TestRecordReplayJob: preview --record and crmsync test handle an
// asynchronous job signed with aws_sigv4: the start, every poll and the
// result pages are recorded (no secret, no signing date in them) and
// replayed in order, without the waits between polls.
func TestRecordReplayJob(t *testing.T) {
	const secret, token = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FQoGZXIvYXdzEXAMPLESESSIONTOKEN"
	var mu sync.Mutex
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || r.Header.Get("X-Amz-Security-Token") != token {
			w.WriteHeader(403)
			return
		}
		switch r.Header.Get("X-Amz-Target") {
		case "Svc.Start":
			fmt.Fprint(w, `{"JobId":"j-7"}`)
		case "Svc.Status":
			polls++
			state := map[bool]string{true: "DONE", false: "RUNNING"}[polls >= 3]
			fmt.Fprintf(w, `{"Job":{"State":%q}}`, state)
		case "Svc.Results":
			buf := make([]byte, 512)
			n, _ := r.Body.Read(buf)
			if gjson.GetBytes(buf[:n], "Next").String() == "" {
				fmt.Fprint(w, `{"Items":[{"id":1},{"id":2}],"Next":"p2"}`)
				return
			}
			fmt.Fprint(w, `{"Items":[{"id":3}]}`)
		}
	}))
	defer srv.Close()
	t.Setenv("T_SECRET", secret)
	t.Setenv("T_TOKEN", token)
	plan, f := pipeline.Load("svc.yaml", []byte(fmt.Sprintf(`version: 1
name: svc
source:
  type: http
  base_url: %q
  auth: {type: aws_sigv4, service: svc, region: eu-west-1, access_key_id: AKIDEXAMPLE, secret_access_key: "${env:T_SECRET}", session_token: "${env:T_TOKEN}"}
entities:
  items:
    job:
      start: {method: POST, path: /, headers: {X-Amz-Target: Svc.Start}, body: {Query: "all"}}
      id: JobId
      poll: {method: POST, path: /, headers: {X-Amz-Target: Svc.Status}, body: {JobId: "{{ job.id }}"}}
      every: 300ms
      done_when: 'Job.State == "DONE"'
    request: {method: POST, path: /, headers: {X-Amz-Target: Svc.Results}, body: {JobId: "{{ job.id }}"}}
    records: Items
    paginate: {style: cursor, cursor: Next, param: Next, in: body}
    primary_key: id
    fields: {id: {path: id, type: integer}}
`, srv.URL)), pipeline.Options{})
	if plan == nil || f.HasErrors() {
		t.Fatal(f)
	}
	e := plan.Entities[0]
	rec := NewRecorder(nil, NewRedactor(plan))
	res, err := Read(context.Background(), plan, e, Options{Wrap: rec.Wrap})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != 3 {
		t.Fatalf("%d records, want 3", len(res.Records))
	}
	dir := t.TempDir()
	n, replayed, err := RecordFixtures(context.Background(), plan, e, dir, rec.Exchanges(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 || len(replayed.Records) != 3 { // start, 3 polls, 2 pages
		t.Fatalf("%d exchanges recorded, %d records replayed; want 6 and 3", n, len(replayed.Records))
	}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{secret, token, "X-Amz-Date"} {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds %q", p, s)
			}
		}
		return nil
	})
}
