package pipelines_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
)

// salesproDB creates a PostgreSQL schema for one test from
// testdata/crm/salespro/{schema,data}.sql, dropped when the test ends. It
// returns a DSN whose search_path is that schema (the pipeline's bare
// table names find it) and a function that runs more SQL files.
func salesproDB(t *testing.T) (string, func(file string)) {
	return pgSchemaDB(t, "salespro")
}

// pgSchemaDB makes a scratch schema filled from testdata/crm/<crm>/{schema,data}.sql.
func pgSchemaDB(t *testing.T, crm string) (string, func(file string)) {
	t.Helper()
	skipWithout(t, "CRMSYNC_PG_DSN")
	schema := scratchName(crm)
	admin, err := sql.Open("pgx", pgDSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA "` + schema + `"`); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
		admin.Close()
	})
	dsn := withParams(t, pgDSN(), "search_path", schema)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	run := func(file string) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", "crm", crm, file))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	run("schema.sql")
	run("data.sql")
	return dsn, run
}

// TestSalesPro runs pipelines/salespro.yaml against a SalesPro-shaped
// PostgreSQL schema: the where filters, form answers read by title
// whatever their spelling, job-type line items as child rows, a record
// whose answers are not JSON rejected, then an incremental run.
// The same file reads a MySQL copy of the tables with SALESPRO_DRIVER=mysql.
func TestSalesPro(t *testing.T) {
	for _, tc := range []struct {
		driver string
		open   func(t *testing.T) (string, func(string))
	}{
		{"postgres", salesproDB},
		{"mysql", func(t *testing.T) (string, func(string)) {
			// MySQL has no timestamp without time zone: DATETIME is its naive time.
			return mysqlDB(t, "salespro", strings.NewReplacer(" timestamp", " datetime").Replace)
		}},
	} {
		t.Run(tc.driver, func(t *testing.T) {
			dsn, runSQL := tc.open(t)
			testSalesPro(t, loadPlan(t, "salespro", map[string]string{"SALESPRO_DSN": dsn, "SALESPRO_DRIVER": tc.driver}), runSQL)
		})
	}
}

func testSalesPro(t *testing.T, plan *pipeline.Plan, runSQL func(string)) {
	d := openDest(t)
	logs := &logBuffer{}

	res := syncRound(t, plan, d, logs, runner.Options{})
	wantCounts(t, res, map[string]counts{
		"customer":            {Processed: 3, Created: 3},
		"estimate":            {Processed: 3, Created: 3},
		"credit_applications": {Processed: 2, Created: 2},
		"lead_results":        {Processed: 5, Created: 4, Rejected: 1},
	})
	d.wantTypes(t, "salespro_lead_results", map[string]string{
		"answers": "jsonb", "both_homeowners_present": "boolean", "deposit_amount": "numeric", "appointment_date": "date",
	})
	d.wantTypes(t, "salespro_lead_results_line_items", map[string]string{
		"estimate_id": "text", "job_type_number": "bigint", "job_type_amount": "numeric",
	})
	wantRows(t, d, `SELECT customer_id, customer_name FROM salespro_customer ORDER BY 1`,
		"C-1001|Maria Gonzalez", "C-1002|David Kim", "C-1003|Tom O'Baker")
	wantRows(t, d, `SELECT estimate_id, state, zip_code, sale_amount, is_sale, updated_at FROM salespro_estimate ORDER BY 1`,
		"E-5001|CO|80202|12500.50|true|2024-01-15T18:45:00Z",
		"E-5002|CO|80302|0.00|false|2024-01-16T11:30:00Z",
		"E-5003|TX|7870|8200.00|true|2024-01-13T10:00:00Z")
	wantRows(t, d, `SELECT leap_credit_app_id, credit_app_status FROM salespro_credit_applications ORDER BY 1`,
		"CA-1|Approved", "CA-2|Under Review")
	wantRows(t, d, `SELECT estimate_id, appointment_result, both_homeowners_present, deposit_type, deposit_amount, financing, reason_no_sale, lead_source, total_sale_amount, appointment_date::text FROM salespro_lead_results ORDER BY 1`,
		"E-5001|Sold|true|Check|1250.00|false|∅|∅|∅|2024-01-15",
		"E-5002|No Sale|false|∅|∅|∅|Price too high|Home Show|∅|2024-01-16",
		"E-5003|Sold|∅|∅|∅|true|∅|∅|8200.00|∅",
		// The titles of another form version: Appt Result, Total Contract Amount, Appt Date.
		"E-5005|Sold|∅|∅|∅|∅|∅|∅|15400.00|2024-01-18")
	wantRows(t, d, `SELECT estimate_id, job_type_number, job_type, job_type_amount, job_size FROM salespro_lead_results_line_items ORDER BY 1, 2`,
		"E-5001|1|Roofing|12500.50|∅",
		"E-5001|2|Gutters|980|∅",
		"E-5003|1|Siding|∅|24 squares")
	if rj := d.rejects(t, "salespro", "lead_results"); len(rj) != 1 || !strings.HasPrefix(rj[0], "E-5004: ") || !strings.Contains(rj[0], "answers") {
		t.Errorf("lead_results rejects %q, want E-5004 for its answers", rj)
	}
	for _, msg := range []string{
		"Validation warning for field 'zip_code' with value '7870' (Record: id=E-5003): Invalid US ZIP code",
		"Validation warning for field 'credit_app_status' with value 'Under Review' (Record: id=CA-2): must be one of",
	} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("the log lacks %q", msg)
		}
	}

	runSQL("changes.sql")
	res = syncRound(t, plan, d, logs, runner.Options{})
	wantCounts(t, res, map[string]counts{
		"customer":            {Processed: 2, Created: 1, Unchanged: 1},
		"estimate":            {Processed: 1, Updated: 1}, // the row at the watermark is the one that changed
		"credit_applications": {Processed: 1, Unchanged: 1},
		// The watermark is E-5002's (the newest committed row): the rejected E-5004,
		// newer, is read again, fixed now.
		"lead_results": {Processed: 2, Created: 1, Updated: 1},
	})
	// E-5002's line items are replaced by its new answers; the fixed E-5004 arrives.
	wantRows(t, d, `SELECT estimate_id, job_type_number, job_type, job_type_amount FROM salespro_lead_results_line_items ORDER BY 1, 2`,
		"E-5001|1|Roofing|12500.50",
		"E-5001|2|Gutters|980",
		"E-5002|1|Gutters|1100",
		"E-5003|1|Siding|∅",
		"E-5004|1|Windows|4400")
	wantRows(t, d, `SELECT appointment_result FROM salespro_lead_results WHERE estimate_id = 'E-5002'`, "Sold")
}
