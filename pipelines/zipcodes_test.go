package pipelines_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/runner"
)

// TestZipcodes runs pipelines/zipcodes.yaml against a recorded GitHub
// contents API: the map is rebuilt from the file on every run.
func TestZipcodes(t *testing.T) {
	const token = "github_pat_11AAAAAAA0123456789abcdef"
	srv := newReplay(t, "zipcodes", func(r *http.Request) error {
		if err := wantHeader("Authorization", "Bearer "+token)(r); err != nil {
			return err
		}
		return wantHeader("X-GitHub-Api-Version", "2022-11-28")(r)
	})
	plan := loadPlan(t, "zipcodes", map[string]string{
		"GITHUB_API_URL": srv.URL,
		"ZIPCODES_REPO":  "acme-exteriors/reference-data",
		"ZIPCODES_REF":   "main",
		"GITHUB_TOKEN":   token,
	})
	d := openDest(t)

	res := syncRound(t, plan, d, nil, runner.Options{})
	srv.served(t, 1)
	wantCounts(t, res, map[string]counts{"zip_divisions": {Processed: 6, Created: 5, Rejected: 1}})
	wantRows(t, d, `SELECT zipcode, division, city, county, state FROM zipcodes_zip_divisions ORDER BY zipcode`,
		"02108|Boston|Boston|Suffolk|MA", // the leading zero a spreadsheet dropped is back
		"78701|Austin|Austin|Travis|TX",
		"80202|Denver|Denver|Denver|CO",
		"80302|Denver|Boulder|Boulder|CO",
		"98011|Seattle|Bothell|King|WA",
	)
	if rj := d.rejects(t, "zipcodes", "zip_divisions"); len(rj) != 1 || !strings.Contains(rj[0], "787O1") {
		t.Errorf("rejects %q, want the zip code with a letter O", rj)
	}

	srv.setRun(2)
	res = syncRound(t, plan, d, nil, runner.Options{})
	srv.served(t, 2)
	wantCounts(t, res, map[string]counts{"zip_divisions": {Processed: 5, Created: 5}})
	wantRows(t, d, `SELECT zipcode FROM zipcodes_zip_divisions ORDER BY zipcode`, "02108", "78701", "80202", "80203", "98011")
}
