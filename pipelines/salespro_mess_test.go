package pipelines_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/runner"
)

// messTable is one SalesPro table the mess test fills and compares.
type messTable struct {
	table, key, check string // source table, its id column, the column compared value by value
	row               func(id string, i, v int, upd string) string
}

var salesproMess = []messTable{
	{"estimate", "estimate_id", "sale_amount", func(id string, i, v int, upd string) string {
		return fmt.Sprintf(`('%s', 'CO-1', 'Acme', 'OF-1', 'Denver', 'SR-%d', 'Dana', 'White', 'C-%d', 'Ann', 'Lee', '1 Main St', 'Denver', 'CO', '80202',
			%d.%02d, %t, 'Roofing', NULL, NULL, NULL, NULL, false, %d, '2024-03-01 00:%02d:%02d', %s)`, id, i%5, i, 100*i+v, i%100, i%2 == 0, i%7, (i/60)%60, i%60, upd)
	}},
	{"credit_applications", "leap_credit_app_id", "credit_app_amount", func(id string, i, v int, upd string) string {
		return fmt.Sprintf(`('%s', 'CO-1', 'Acme', 'SR-1', 'C-%d', 'GreenSky', 'V%d', %d.00, 'Approved', 'note 😀\r\nline', '2024-03-01 00:%02d:%02d', %s)`,
			id, i, i, 1000+i+v, (i/60)%60, i%60, upd)
	}},
	{"lead_results", "estimate_id", "appointment_result", func(id string, i, v int, upd string) string {
		res := []string{"Sold", "No Sale", "Reset"}[(i+v)%3]
		return fmt.Sprintf(`('%s', 'CO-1', '[{"title":"Appointment Result","value":"%s"}]', '2024-03-01 00:%02d:%02d', %s)`, id, res, (i/60)%60, i%60, upd)
	}},
}

// TestSalesProMess: a SalesPro with ~5 %% NULL updated_at, ~10 %% rows
// sharing one updated_at, a full sync, then changes, inserts (half with
// a NULL updated_at) and a row committed late with an older updated_at;
// after the incremental sync every table equals its source id by id and
// on a checked column.
func TestSalesProMess(t *testing.T) {
	dsn, _ := salesproDB(t)
	srcDB, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer srcDB.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := srcDB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	const n = 400
	upd := func(i int) string {
		switch {
		case i%20 == 0:
			return "NULL"
		case i%10 == 3:
			return "'2024-03-05 12:00:00'"
		}
		return fmt.Sprintf("'2024-03-0%d %02d:%02d:00'", 2+i%3, (i/60)%24, i%60)
	}
	for _, mt := range salesproMess {
		exec("DELETE FROM " + mt.table)
		var rows []string
		for i := 1; i <= n; i++ {
			rows = append(rows, mt.row(fmt.Sprintf("X-%05d", i), i, 0, upd(i)))
		}
		exec("INSERT INTO " + mt.table + " VALUES " + strings.Join(rows, ", "))
	}
	plan := loadPlan(t, "salespro", map[string]string{"SALESPRO_DSN": dsn, "SALESPRO_DRIVER": "postgres"})
	d := openDest(t)
	src := &dest{db: srcDB}
	compare := func(round string) {
		t.Helper()
		for _, mt := range salesproMess {
			q := func(table string) string {
				col := mt.check
				if mt.table == "lead_results" && table == mt.table {
					col = `(lead_results::json->0->>'value')`
				}
				return fmt.Sprintf("SELECT %s, %s::text FROM %s ORDER BY 1", mt.key, col, table)
			}
			want, got := src.rows(t, q(mt.table)), d.rows(t, q("salespro_"+mt.table))
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				var diff []string
				seen := map[string]bool{}
				for _, r := range got {
					seen[r] = true
				}
				for _, r := range want {
					if !seen[r] {
						diff = append(diff, r)
					}
				}
				t.Errorf("%s: %s: %d rows in the source, %d in the warehouse; missing or stale: %v", round, mt.table, len(want), len(got), diff)
			}
		}
	}
	syncRound(t, plan, d, nil, runner.Options{})
	compare("full")

	// Changes: some rows move their updated_at, some NULL rows gain one;
	// inserts, half without updated_at; a late commit older than the watermark.
	for _, mt := range salesproMess {
		exec(fmt.Sprintf("UPDATE %s SET updated_at = '2024-03-06 09:00:00' WHERE %s IN ('X-00007', 'X-00040', 'X-00123')", mt.table, mt.key))
		var rows []string
		for i := n + 1; i <= n+50; i++ {
			u := "'2024-03-06 10:00:00'"
			if i%2 == 0 {
				u = "NULL"
			}
			r := mt.row(fmt.Sprintf("X-%05d", i), i, 0, u)
			// The NULL rows are dated by created_at, after the first sync.
			r = strings.Replace(r, fmt.Sprintf("'2024-03-01 00:%02d:%02d'", (i/60)%60, i%60), fmt.Sprintf("'2024-03-06 11:%02d:00'", i%60), 1)
			rows = append(rows, r)
		}
		exec("INSERT INTO " + mt.table + " VALUES " + strings.Join(rows, ", "))
		// Changed values for the moved rows.
		for _, id := range []int{7, 40, 123} {
			exec(fmt.Sprintf("DELETE FROM %s WHERE %s = 'X-%05d'", mt.table, mt.key, id))
			exec(fmt.Sprintf("INSERT INTO %s VALUES %s", mt.table, mt.row(fmt.Sprintf("X-%05d", id), id, 1, "'2024-03-06 09:00:00'")))
		}
		// Committed late: its updated_at is 2 minutes older than the newest one synced.
		exec(fmt.Sprintf("INSERT INTO %s VALUES %s", mt.table, mt.row("X-99999", 999, 0, "'2024-03-06 11:58:00'")))
	}
	// The newest updated_at synced so far must be 12:00 of the 6th for the late row to be late.
	for _, mt := range salesproMess {
		exec(fmt.Sprintf("UPDATE %s SET updated_at = '2024-03-06 12:00:00' WHERE %s = 'X-00401'", mt.table, mt.key))
	}
	syncRound(t, plan, d, nil, runner.Options{})
	// Rows inserted after that sync, one committed late.
	for _, mt := range salesproMess {
		exec(fmt.Sprintf("DELETE FROM %s WHERE %s = 'X-99999'", mt.table, mt.key))
		exec(fmt.Sprintf("INSERT INTO %s VALUES %s", mt.table, mt.row("X-99999", 999, 2, "'2024-03-06 11:58:00'")))
	}
	syncRound(t, plan, d, nil, runner.Options{})
	compare("incremental")
}
