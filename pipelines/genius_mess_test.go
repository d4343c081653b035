package pipelines_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/runner"
)

// TestGeniusMess: a Genius with ~5 % NULL updated_at, ~10 % rows sharing
// one updated_at, UTF-8 and CRLF notes, a full sync; then changed rows,
// inserts (half with a NULL updated_at), a row committed late with an
// older updated_at and edits to joined rows only (HubSpot links, user
// associations); after the incremental syncs prospect, job, lead and
// user_data equal their source id by id and on a checked column.
func TestGeniusMess(t *testing.T) {
	dsn, _ := mysqlDB(t, "genius", nil)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const n = 300
	upd := func(i int) string {
		switch {
		case i%20 == 0:
			return "NULL"
		case i%10 == 3:
			return "'2024-03-05 12:00:00'"
		}
		return fmt.Sprintf("'2024-03-0%d %02d:%02d:00'", 1+i%4, (i/60)%24, i%60)
	}
	prospect := func(i int, email, u, add string) string {
		return fmt.Sprintf("(%d, 12, 202, 'Zoë %d', 'Nguyễn', 'Denver', 'CO', '80202', '%s', 'line 1\\r\\nline 2 🏠', '%s', %d, %s)",
			i, i, email, add, 100+i%30, u)
	}
	var rows []string
	exec("INSERT INTO third_party_source VALUES " + func() string {
		var v []string
		for i := 100; i < 130; i++ {
			v = append(v, fmt.Sprintf("(%d, 1, 'hs-%d', '2024-01-01 00:00:00', '2024-01-01 00:00:00')", i, i))
		}
		return strings.Join(v, ", ")
	}())
	for i := 1000; i < 1000+n; i++ {
		rows = append(rows, prospect(i, fmt.Sprintf("p%d@example.com", i), upd(i), fmt.Sprintf("2024-02-01 %02d:%02d:00", (i/60)%24, i%60)))
	}
	const pcols = "(id, division_id, user_id, first_name, last_name, city, state, zip, email, notes, add_date, third_party_source_id, updated_at)"
	exec("INSERT INTO prospect " + pcols + " VALUES " + strings.Join(rows, ", "))
	rows = rows[:0]
	for i := 5000; i < 5000+n; i++ {
		rows = append(rows, fmt.Sprintf("(%d, %d, 'new', '2024-02-01 %02d:%02d:00', %s)", i, i, (i/60)%24, i%60, upd(i)))
	}
	exec("INSERT INTO `lead` (lead_id, division, status, added_on, updated_at) VALUES " + strings.Join(rows, ", "))
	rows = rows[:0]
	for i := 7000; i < 7000+n; i++ {
		rows = append(rows, fmt.Sprintf("(%d, %d.50, '2024-02-01 10:00:00', '2024-02-02 %02d:%02d:00', %s)", i, i, (i/60)%24, i%60, upd(i)))
	}
	exec("INSERT INTO job (id, contract_amount, sold_date, add_date, updated_at) VALUES " + strings.Join(rows, ", "))

	plan := loadPlan(t, "genius", map[string]string{"GENIUS_DSN": dsn, "GENIUS_TIMEZONE": "UTC"})
	d := openDest(t)
	src := &dest{db: db}
	checks := []struct{ src, dst string }{
		{"SELECT p.id, p.email, tps.third_party_id FROM prospect p LEFT JOIN third_party_source tps ON tps.id = p.third_party_source_id AND tps.third_party_source_type_id = 1 ORDER BY p.id",
			"SELECT id, email, hubspot_contact_id FROM genius_prospect ORDER BY id"},
		{"SELECT lead_id, status FROM `lead` ORDER BY lead_id", "SELECT lead_id, status FROM genius_lead ORDER BY lead_id"},
		{"SELECT id, contract_amount FROM job ORDER BY id", "SELECT id, contract_amount FROM genius_job ORDER BY id"},
		{"SELECT u.user_id, ua.primary_user_id FROM user_data u LEFT JOIN users_userassociations ua ON ua.id = u.user_associations_id ORDER BY u.user_id",
			"SELECT user_id, primary_user_id FROM genius_user_data ORDER BY user_id"},
	}
	compare := func(round string) {
		t.Helper()
		for _, c := range checks {
			want, got := src.rows(t, c.src), d.rows(t, c.dst)
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				seen := map[string]bool{}
				for _, r := range got {
					seen[r] = true
				}
				var diff []string
				for _, r := range want {
					if !seen[r] {
						diff = append(diff, r)
					}
				}
				t.Errorf("%s: %s\n%d rows in the source, %d in the warehouse; missing or stale: %v", round, c.dst, len(want), len(got), diff)
			}
		}
	}
	syncRound(t, plan, d, nil, runner.Options{})
	compare("full")

	// Mutations: rows change (one had a NULL updated_at), new rows (half
	// without updated_at), joined rows change alone.
	exec("UPDATE prospect SET email = CONCAT('new.', email), updated_at = '2024-03-06 09:00:00' WHERE id IN (1003, 1020, 1111)")
	exec("UPDATE `lead` SET status = 'converted', updated_at = '2024-03-06 09:00:00' WHERE lead_id IN (5003, 5040)")
	exec("UPDATE job SET contract_amount = contract_amount + 1, updated_at = '2024-03-06 09:00:00' WHERE id IN (7007, 7100)")
	rows = rows[:0]
	for i := 1000 + n; i < 1000+n+50; i++ {
		u := "'2024-03-06 10:00:00'"
		if i%2 == 0 {
			u = "NULL"
		}
		rows = append(rows, prospect(i, fmt.Sprintf("p%d@example.com", i), u, fmt.Sprintf("2024-03-06 11:%02d:00", i%60)))
	}
	exec("INSERT INTO prospect " + pcols + " VALUES " + strings.Join(rows, ", "))
	exec("INSERT INTO `lead` (lead_id, division, status, added_on, updated_at) VALUES (6000, 1, 'new', '2024-03-06 11:00:00', NULL), (6001, 1, 'new', '2024-03-06 11:00:00', '2024-03-06 11:00:00')")
	exec("INSERT INTO job (id, contract_amount, sold_date, add_date, updated_at) VALUES (8000, 1.00, NULL, '2024-03-06 11:00:00', NULL), (8001, 2.00, NULL, '2024-03-06 11:00:00', '2024-03-06 12:00:00')")
	exec("UPDATE third_party_source SET third_party_id = CONCAT(third_party_id, '-b'), updated_at = '2024-03-06 10:30:00' WHERE id IN (105, 117)")
	exec("UPDATE users_userassociations SET primary_user_id = 203, updated_at = '2024-03-06 10:30:00' WHERE id = 1")
	syncRound(t, plan, d, nil, runner.Options{})
	// Committed late: older than the newest updated_at already synced (12:00).
	exec("INSERT INTO job (id, contract_amount, sold_date, add_date, updated_at) VALUES (8002, 3.00, NULL, '2024-03-06 11:00:00', '2024-03-06 11:58:00')")
	exec("INSERT INTO prospect " + pcols + " VALUES " + prospect(2000, "late@example.com", "'2024-03-06 09:58:00'", "2024-03-06 09:00:00"))
	syncRound(t, plan, d, nil, runner.Options{})
	compare("incremental")
}
