package pipelines_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/crmsync/crmsync/engine/runner"
)

// mysqlDB creates a MariaDB database for one test from
// testdata/crm/<crm>/{schema,data}.sql, dropped when the test ends. It
// returns the DSN of the database and a function that runs more SQL
// files; rewrite, when set, adapts each file's text first.
func mysqlDB(t *testing.T, crm string, rewrite func(string) string) (string, func(file string)) {
	t.Helper()
	skipWithout(t, "CRMSYNC_MYSQL_DSN")
	cfg, err := mysql.ParseDSN(myDSN())
	if err != nil {
		t.Fatalf("CRMSYNC_MYSQL_DSN: %v", err)
	}
	name := scratchName(crm)
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name)
		admin.Close()
	})
	cfg.DBName = name
	pipelineDSN := cfg.FormatDSN()
	cfg.MultiStatements = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
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
		text := string(b)
		if rewrite != nil {
			text = rewrite(text)
		}
		if _, err := db.Exec(text); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	run("schema.sql")
	run("data.sql")
	return pipelineDSN, run
}

// TestGenius runs pipelines/genius.yaml against a Genius-shaped MariaDB:
// every table, naive times read in the company's zone, updated_at NULL
// falling back to the add date, then an incremental run.
func TestGenius(t *testing.T) {
	dsn, runSQL := mysqlDB(t, "genius", nil)
	plan := loadPlan(t, "genius", map[string]string{
		"GENIUS_DSN":      dsn,
		"GENIUS_TIMEZONE": "America/Denver",
	})
	d := openDest(t)
	logs := &logBuffer{}

	res := syncRound(t, plan, d, logs, runner.Options{})
	wantCounts(t, res, map[string]counts{
		"division":         {Processed: 3, Created: 3},
		"division_region":  {Processed: 2, Created: 2},
		"user_data":        {Processed: 3, Created: 3},
		"prospect":         {Processed: 4, Created: 4},
		"appointment":      {Processed: 3, Created: 3},
		"appointment_type": {Processed: 3, Created: 3},
		"quote":            {Processed: 3, Created: 3},
		"lead":             {Processed: 3, Created: 3},
		"job":              {Processed: 2, Created: 2},
		"job_status":       {Processed: 4, Created: 4},
		"job_change_order": {Processed: 2, Created: 2},
		// The tables the old sync read that were missing.
		"appointment_outcome":              {Processed: 2, Created: 2},
		"integration_field":                {Processed: 2, Created: 2},
		"integration_field_definition":     {Processed: 2, Created: 2},
		"marketsharp_source":               {Processed: 2, Created: 2},
		"marketsharp_marketing_source_map": {Processed: 2, Created: 2},
	})
	// job keeps every column: the whole row in _raw.
	wantRows(t, d, `SELECT id, permit_number, _raw::jsonb->>'permit_number' FROM genius_job ORDER BY id`, "901|DEN-24-0001|DEN-24-0001", "902|∅|∅")
	d.wantTypes(t, "genius_prospect", map[string]string{
		"id": "bigint", "add_date": "timestamp with time zone", "phone1": "text", "year_built": "bigint",
	})
	d.wantTypes(t, "genius_job", map[string]string{"contract_amount": "numeric", "contract_date": "date", "sold_date": "timestamp with time zone"})
	// sold_date is a DATETIME: its time of day is kept (Denver 18:45 is 01:45 UTC the next day).
	wantRows(t, d, `SELECT id, sold_date FROM genius_job ORDER BY id`, "901|2024-01-16T01:45:00Z", "902|2024-01-13T07:00:00Z")
	d.wantTypes(t, "genius_division", map[string]string{"is_utility": "boolean"})

	// Naive Denver times are stored in UTC; a NULL updated_at falls back to add_date.
	wantRows(t, d, `SELECT id, state, zip, phone1, email, hubspot_contact_id, updated_at, changed_at FROM genius_prospect ORDER BY id`,
		"1|CO|80202|+13035550142|maria.gonzalez@example.com|101|2024-01-10T21:30:00Z|2024-01-10T21:30:00Z",
		"2|CO|80302|+17205550199|dkim@example.org|∅|∅|2024-01-03T17:15:00Z", // a MarketSharp source is no HubSpot id
		// The messy prospect: kept (on_invalid: warn) with its state normalised; the
		// 7-digit phone number cannot become E.164 and is stored as NULL.
		"3|NY|2134|∅|jane.doe@gmail|∅|2024-01-11T15:00:00Z|2024-01-11T15:00:00Z",
		"4|TX|78701-1234|+15125550177|tom.baker@example.com|104|2024-01-13T00:45:00Z|2024-01-13T00:45:00Z",
	)
	for _, msg := range []string{
		"Validation warning for field 'email' with value 'jane.doe@gmail' (Record: id=3)",
		"Validation warning for field 'zip' with value '2134' (Record: id=3)",
		"Failed to parse phone value: '555-1234' in field 'phone1' for genius 3",
		"Validation warning for field 'amount' with value '-50.00' (Record: id=803): must be at least 0",
		// The summary counts the per-record lines by field (after 10 per field only counted).
		"Record warnings in genius prospect sync by field: ",
	} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("the log lacks %q", msg)
		}
	}
	wantRows(t, d, `SELECT user_id, email, personal_email, primary_user_id, birth_date::text, is_inactive, changed_at FROM genius_user_data ORDER BY user_id`,
		"201|cruiz@example.com|carlos.r@example.net|201|1985-04-12|false|2024-01-02T18:00:00Z",
		"202|dwhite@example.com|∅|201|∅|false|2021-02-01T17:00:00Z",
		"203|∅|∅|∅|∅|true|2023-11-30T23:45:00Z", // 'n/a' and '' are no address
	)
	wantRows(t, d, `SELECT lead_id, phone, zip_code, division_id, converted_to_prospect_id, created_at FROM genius_lead ORDER BY lead_id`,
		"3001|+13035550165|80203|12|∅|2024-01-20T16:00:00Z",
		"3002|+17205550133|80205|12|2|2024-01-18T20:00:00Z",
		"3003|∅|78704|15|∅|2024-01-21T22:30:00Z",
	)
	wantRows(t, d, `SELECT id, amount FROM genius_quote ORDER BY id`, "801|12500.50", "802|980.00", "803|-50.00")
	wantRows(t, d, `SELECT id, date::text, time, spouses_present, hubspot_appointment_id FROM genius_appointment ORDER BY id`,
		"501|2024-01-15|17:00:00|true|appt-9001", "502|2024-01-16|10:00:00|∅|∅", "503|2024-01-20|09:30:00|false|∅")
	wantRows(t, d, `SELECT appointment_id, service_id FROM genius_appointment_to_service ORDER BY 1, 2`, "501|1", "501|2", "503|1")
	if wm := d.watermark(t, "genius", "prospect"); wm != "2024-01-13T00:45:00Z" {
		t.Errorf("prospect watermark %q", wm)
	}

	// Second round: only what changed is read (plus the rows at the
	// watermark and at the fallback's watermark — the newest add date of
	// the rows with no updated_at — which the upsert leaves alone);
	// lookups are read again.
	runSQL("changes.sql")
	res = syncRound(t, plan, d, logs, runner.Options{})
	wantCounts(t, res, map[string]counts{
		"division": {Processed: 2, Unchanged: 2},
		// Prospect 4 comes twice: at the watermark and at its HubSpot link's (incremental.joined).
		"prospect":         {Processed: 4, Created: 1, Updated: 1, Unchanged: 1},
		"quote":            {Processed: 2, Updated: 1, Unchanged: 1},
		"lead":             {Processed: 3, Updated: 1, Unchanged: 2},
		"job":              {Processed: 2, Unchanged: 2},
		"job_change_order": {Processed: 3, Created: 1, Unchanged: 2},
		"job_status":       {Processed: 4, Updated: 1, Unchanged: 3},
		"appointment_type": {Processed: 4, Created: 1, Unchanged: 3},
		"user_data":        {Processed: 2, Unchanged: 2},
	})
	wantRows(t, d, `SELECT id, email, changed_at FROM genius_prospect WHERE id IN (2, 5) ORDER BY id`,
		"2|david.kim@example.org|2024-02-01T16:00:00Z", "5|r.patel@example.com|2024-02-02T17:00:00Z")
	wantRows(t, d, `SELECT label FROM genius_job_status WHERE id = 2`, "In Production (crew assigned)")
	wantRows(t, d, `SELECT status, converted_to_prospect_id FROM genius_lead WHERE lead_id = 3001`, "converted|5")

	// Third round: only joined rows change (the HubSpot links, a user
	// association); incremental.joined re-reads the rows they belong to.
	runSQL("joined_changes.sql")
	syncRound(t, plan, d, logs, runner.Options{})
	wantRows(t, d, `SELECT id, hubspot_contact_id FROM genius_prospect WHERE id = 1`, "1|101-b")
	wantRows(t, d, `SELECT id, hubspot_appointment_id FROM genius_appointment WHERE id = 501`, "501|appt-9001-b")
	wantRows(t, d, `SELECT user_id, primary_user_id FROM genius_user_data ORDER BY user_id`, "201|201", "202|202", "203|∅")
}
