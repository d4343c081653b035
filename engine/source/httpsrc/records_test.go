package httpsrc

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// TestRecordsThroughProjection: a records path through a # projection
// (Pipedrive's /v1/recents: data.#.data) reads "data": null as an empty
// page and skips null items; a missing key is still an error.
func TestRecordsThroughProjection(t *testing.T) {
	cases := []struct {
		name, records, body string
		want                []string
		wantErr             string
	}{
		{"feed with items", "data.#.data",
			`{"success":true,"data":[{"item":"person","id":1,"data":{"id":1}},{"item":"person","id":2,"data":{"id":2}}],"additional_data":{"pagination":{"more_items_in_collection":false}}}`,
			[]string{"1", "2"}, ""},
		{"empty feed: data null", "data.#.data",
			`{"success":true,"data":null,"additional_data":{"pagination":{"more_items_in_collection":false}}}`, nil, ""},
		{"an item without data", "data.#.data",
			`{"success":true,"data":[{"item":"person","id":1,"data":null},{"item":"person","id":2,"data":{"id":2}}]}`, []string{"2"}, ""},
		{"empty array", "data.#.data", `{"success":true,"data":[]}`, nil, ""},
		{"nested prefix null", "result.data.#.data", `{"result":{"data":null}}`, nil, ""},
		{"count projection", "data.#", `{"data":null}`, nil, ""},
		{"key missing is still an error", "data.#.data", `{"success":true,"items":[]}`, nil,
			`the records path "data.#.data" is not in the body (top-level keys: items, success)`},
		{"plain path null", "data", `{"data":null}`, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				writeJSON(w, 200, []byte(tc.body))
			})
			yml := strings.Replace(`
version: 1
name: t
source: {type: http, base_url: BASE, error_when: 'body?.success == false'}
entities:
  recents:
    request: {path: /v1/recents}
    records: RECORDS
    fields: {id: id}
`, "RECORDS", tc.records, 1)
			r := openYAML(t, yml, api.URL, nil)
			pages, err := readAllPages(t, r, source.ReadState{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, tc.want) {
				t.Fatalf("ids %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProjectionPrefixes(t *testing.T) {
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"data.#.data", []string{"data"}},
		{"a.b.#.c.#.d", []string{"a.b", "a.b.#.c"}},
		{"data", nil},
		{`data.#(type=="#").x`, nil},
		{"data.#", []string{"data"}},
		{"items.#|@reverse", []string{"items"}},
	} {
		if got := projectionPrefixes(tc.path); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.path, got, tc.want)
		}
	}
}
