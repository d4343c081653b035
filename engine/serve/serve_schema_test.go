package serve

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crmsync/crmsync/schema"
)

// TestServeAnswersWithTheSchema: an editor pointed at a running serve
// gets the schema this binary checks files against.
func TestServeAnswersWithTheSchema(t *testing.T) {
	s, _ := newScheduler(t, t.TempDir(), Options{})
	web := httptest.NewServer(s.Handler())
	t.Cleanup(web.Close)
	for _, path := range []string{schema.ServePath, "/schema/pipeline.schema.json"} {
		resp, err := http.Get(web.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, schema.JSON) {
			t.Errorf("GET %s: %d, %d bytes; want 200 and the embedded schema (%d bytes)", path, resp.StatusCode, len(body), len(schema.JSON))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/schema+json" {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
	}
	resp, err := http.Get(web.URL + "/schema/v2/pipeline.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("an unknown schema version answered %d, want 404", resp.StatusCode)
	}
}
