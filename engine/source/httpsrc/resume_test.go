package httpsrc

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// TestResumePositions: each page of a full read carries the position of
// the next one (none on the last, nor on a page max_pages ends with); a
// stored position restarts the read there, and one stored for another
// query is dropped with a warning. Entities with incremental carry none.
func TestResumePositions(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		writeJSON(w, 200, []byte(`{"data":`+items(off, min(off+3, 8))+`}`))
	})
	const base = `
version: 1
name: t
source: {type: http, base_url: BASE}
entities:
  items:
    request: {path: /items}
    records: data
    paginate: {style: offset, limit: 3MAXPAGES}
    fields: {id: id, u: u}
    INCREMENTAL
`
	cases := []struct {
		name, maxPages, incremental, resume string
		wantIDs                             []string
		wantResume                          []string
		wantLog                             string
	}{
		{"from the start", "", "", "", numbers(0, 7), []string{"offset:3", "offset:6", ""}, ""},
		{"from a stored position", "", "", "KEY:6", numbers(6, 7), []string{""}, "continuing a full read"},
		{"another query's position", "", "", `{"key":"0","offset":6}`, numbers(0, 7), []string{"offset:3", "offset:6", ""}, "for another query"},
		{"max_pages ends it", ", max_pages: 2", "", "", numbers(0, 5), []string{"offset:3", ""}, ""},
		{"incremental carries none", "", "incremental: {field: u}", "", numbers(0, 7), []string{"", "", ""}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yml := strings.NewReplacer("MAXPAGES", tc.maxPages, "INCREMENTAL", tc.incremental).Replace(base)
			r := openYAML(t, yml, api.URL, nil)
			resume := tc.resume
			if k, ok := strings.CutPrefix(resume, "KEY:"); ok {
				resume = `{"key":"` + r.Reader.(*reader).o.resumeKey + `","offset":` + k + `}`
			}
			pages, err := readAllPages(t, r, source.ReadState{Resume: resume})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pages, "id"); !slices.Equal(got, tc.wantIDs) {
				t.Fatalf("ids %v, want %v", got, tc.wantIDs)
			}
			var got []string
			for _, p := range pages {
				s := p.Resume
				if s != "" {
					s = strings.TrimSuffix(s[strings.Index(s, `","`)+3:], "}")
					s = strings.ReplaceAll(strings.ReplaceAll(s, `"`, ""), " ", "")
				}
				got = append(got, s)
			}
			if !slices.Equal(got, tc.wantResume) {
				t.Fatalf("positions %q, want %q", got, tc.wantResume)
			}
			if tc.wantLog != "" && !strings.Contains(r.logs.String(), tc.wantLog) {
				t.Fatalf("no %q in the log:\n%s", tc.wantLog, r.logs)
			}
		})
	}
}
