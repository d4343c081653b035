package pipelines_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/runner"
)

// copyRound copies the exports of a recorded round
// (leads_csv.fixtures/leads/round-N/files/, the files crmsync test reads)
// into dir, replacing those of the same name.
func copyRound(t *testing.T, n int, dir string) {
	t.Helper()
	from := filepath.Join("leads_csv.fixtures", "leads", fmt.Sprintf("round-%d", n), "files")
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLeadsCSV runs pipelines/leads_csv.yaml over a folder of exports:
// a BOM, CRLF, quoted line breaks, a cut-off row and a bad e-mail go
// where they belong; a grown file and a new file load only their new rows.
func TestLeadsCSV(t *testing.T) {
	dir := t.TempDir()
	copyRound(t, 1, dir)
	plan := loadPlan(t, "leads_csv", map[string]string{"LEADS_CSV_DIR": dir})
	d := openDest(t)
	logs := &logBuffer{}

	res := syncRound(t, plan, d, logs, runner.Options{})
	// 8 rows: 5 loaded, GA-1003 (bad e-mail) and HS-2003 (cut off) rejected,
	// HS-2004 (no e-mail, no phone) filtered.
	wantCounts(t, res, map[string]counts{"leads": {Processed: 8, Created: 5, Rejected: 2}})
	if f := res["leads"].Filtered; f != 1 {
		t.Errorf("filtered %d, want 1", f)
	}
	d.wantTypes(t, "leads_csv_leads", map[string]string{
		"lead_id": "text", "services": "ARRAY", "budget": "numeric", "created_at": "timestamp with time zone", "source_row": "bigint",
	})
	wantRows(t, d, `SELECT lead_id, full_name, email, phone, state, zip, services::text, budget, created_at, source_file, source_row FROM leads_csv_leads ORDER BY lead_id`,
		"GA-1001|Maria Gonzalez|Maria.Gonzalez@example.com|+13035550142|CO|80202|{Roofing,Gutters}|12500|2024-01-05T16:15:00Z|google_ads_2024-01.csv|2",
		"GA-1002|Sean O'Connor|s.oconnor@example.net|+16175550123|MA|02108|{Roofing}|∅|2024-01-06T21:30:00Z|google_ads_2024-01.csv|3",
		"GA-1004||∅|+15125550110|TX|78701|∅|∅|2024-01-08T15:05:00Z|google_ads_2024-01.csv|5", // no e-mail, but a phone
		"HS-2001|David Kim|dkim@example.org|+17205550199|CO|80302|{Windows,Doors}|8000|2024-01-20T17:30:00Z|home_show_2024-01.csv|2",
		"HS-2002|Tom Baker|tom.baker@example.com|∅|TX|78701-1234|{Siding}|8200.00|2024-01-21T20:45:00Z|home_show_2024-01.csv|4",
	)
	wantRows(t, d, `SELECT notes FROM leads_csv_leads WHERE lead_id = 'HS-2001'`, "Met at booth 14.\nWants a call after 6pm.")
	rj := strings.Join(d.rejects(t, "leads_csv", "leads"), "\n")
	for _, want := range []string{"GA-1003: ", "Invalid email format", "home_show_2024-01.csv:5: row has 8 fields, the header has 15"} {
		if !strings.Contains(rj, want) {
			t.Errorf("rejects lack %q:\n%s", want, rj)
		}
	}

	// The Google export grows by one row and a Facebook file arrives.
	copyRound(t, 2, dir)
	res = syncRound(t, plan, d, logs, runner.Options{})
	wantCounts(t, res, map[string]counts{"leads": {Processed: 3, Created: 2, Updated: 1}})
	wantRows(t, d, `SELECT lead_id, budget, services::text, source_file FROM leads_csv_leads WHERE lead_id IN ('GA-1002', 'GA-1005', 'FB-3001') ORDER BY lead_id`,
		"FB-3001|∅|{Windows}|facebook_2024-02.csv",
		"GA-1002|15000|{Roofing,Windows}|facebook_2024-02.csv",
		"GA-1005|9900|{Roofing}|google_ads_2024-01.csv",
	)
}
