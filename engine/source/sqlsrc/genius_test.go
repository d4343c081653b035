package sqlsrc

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// geniusDB makes a Genius-like MariaDB schema: division, prospect (naive
// DATETIME updated_at, NULL for every fourth row, and add_date) joined
// to third_party_source, and the appointment_type lookup table.
func geniusDB(t *testing.T) *testDB {
	db := newMy(t)
	db.exec(t, `CREATE TABLE division (id int PRIMARY KEY, group_id int, region_id int, label varchar(100),
		abbreviation varchar(10), is_utility tinyint(1), is_inactive tinyint(1), created_at datetime, updated_at datetime)`)
	db.exec(t, "INSERT INTO division VALUES "+values(12, func(i int) string {
		return fmt.Sprintf("(%d, %d, %d, 'Division %d', 'D%d', %d, 0, '2020-01-01 00:00:00', '2024-01-%02d 08:00:00')", i, 1+i%3, 1+i%2, i, i, i%2, i)
	}))
	db.exec(t, `CREATE TABLE third_party_source (id int PRIMARY KEY, third_party_id varchar(40))`)
	db.exec(t, "INSERT INTO third_party_source VALUES "+values(40, func(i int) string {
		return fmt.Sprintf("(%d, 'hs-%d')", i, 1000+i)
	}))
	db.exec(t, `CREATE TABLE prospect (id int PRIMARY KEY, division_id int, first_name varchar(50), last_name varchar(50),
		email varchar(100), notes text, third_party_source_id int NULL, add_date datetime NOT NULL, updated_at datetime NULL)`)
	db.exec(t, "INSERT INTO prospect VALUES "+values(120, func(i int) string {
		upd := fmt.Sprintf("'2024-02-%02d 09:30:00'", 1+i%28)
		if i%4 == 0 {
			upd = "NULL"
		}
		tps := "NULL"
		if i <= 40 {
			tps = fmt.Sprint(i)
		}
		return fmt.Sprintf("(%d, %d, 'First%d', 'Last%d', 'p%d@example.com', 'note: it''s :watermark', %s, '2024-01-%02d 07:00:00', %s)",
			i, 1+i%12, i, i, i, tps, 1+i%28, upd)
	}))
	db.exec(t, `CREATE TABLE appointment_type (id int PRIMARY KEY, label varchar(50), is_active tinyint(1))`)
	db.exec(t, `INSERT INTO appointment_type VALUES (1, 'Inspection', 1), (2, 'Estimate', 1), (3, 'Install', 1), (4, 'Repair', 0), (5, 'Follow-up', 1)`)
	return db
}

const prospectQuery = `
query: |
  SELECT p.id, p.division_id, p.first_name, p.last_name, p.email, p.notes, p.add_date, p.updated_at,
         tps.third_party_id AS hubspot_contact_id
  FROM prospect p
  LEFT JOIN third_party_source tps ON tps.id = p.third_party_source_id
primary_key: [id]
incremental: {field: changed_at, column: "COALESCE(updated_at, add_date)"}
`

// maxTime is what the runner keeps as the watermark: the largest value
// of the incremental field read.
func maxTime(t *testing.T, recs []map[string]any, field string) time.Time {
	t.Helper()
	var m time.Time
	for _, r := range recs {
		s, _ := r[field].(string)
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("%s %q: %v", field, r[field], err)
		}
		if v.After(m) {
			m = v
		}
	}
	return m
}

func TestGeniusProspects(t *testing.T) {
	db := geniusDB(t)
	r := db.open(t, prospectQuery, opts{batch: 25})

	full := read(t, r, source.ReadState{}, 0)
	checkAll(t, full.records, 120)
	if got := pageSizes(full.pages); !slices.Equal(got, []int{25, 25, 25, 25, 20}) {
		t.Errorf("page sizes %v", got)
	}
	byID := map[string]map[string]any{}
	for _, rec := range full.records {
		byID[fmt.Sprint(rec["id"])] = rec
	}
	// Row 8 has no updated_at: its increment is add_date, read as UTC.
	if r8 := byID["8"]; r8["updated_at"] != nil || r8["changed_at"] != "2024-01-09T07:00:00Z" || r8["hubspot_contact_id"] != "hs-1008" {
		t.Errorf("row 8 = %v", r8)
	}
	if r9 := byID["9"]; r9["changed_at"] != "2024-02-10T09:30:00Z" || r9["notes"] != "note: it's :watermark" {
		t.Errorf("row 9 = %v", r9)
	}
	if byID["99"]["hubspot_contact_id"] != nil {
		t.Errorf("row 99 has no third-party source: %v", byID["99"])
	}

	// Killed after two pages, the next run continues after the 50th row.
	part := read(t, r, source.ReadState{}, 2)
	checkAll(t, append(part.records, resumeAfter(t, r, source.ReadState{}, part)...), 120)

	// Between syncs: two rows are edited (one had no updated_at), one is added.
	wm := maxTime(t, full.records, "changed_at")
	db.exec(t, "UPDATE prospect SET email = 'new@example.com', updated_at = '2024-03-05 10:00:00' WHERE id IN (12, 33)")
	db.exec(t, "INSERT INTO prospect VALUES (121, 1, 'New', 'Person', NULL, NULL, NULL, '2024-03-06 11:00:00', NULL)")
	inc := read(t, r, source.ReadState{WatermarkTime: wm, Watermark: wm.Format(time.RFC3339)}, 0)
	var boundary []string // rows at exactly the old watermark are read again (>=)
	for _, rec := range full.records {
		if rec["changed_at"] == wm.Format(time.RFC3339) {
			boundary = append(boundary, fmt.Sprint(rec["id"]))
		}
	}
	want := append(boundary, "12", "33", "121")
	if got := ids(inc.records, "id"); !slices.Equal(got, want) {
		t.Fatalf("incremental sync read %v, want %v", got, want)
	}
	if inc.records[len(boundary)]["email"] != "new@example.com" {
		t.Errorf("updated row not re-read with its new value: %v", inc.records[len(boundary)])
	}
}

func TestGeniusDivisionsAndLookups(t *testing.T) {
	db := geniusDB(t)
	div := db.open(t, `
from: division
columns: [id, label, is_utility, updated_at]
where: is_inactive = 0
primary_key: [id]
incremental: {field: updated_at}
`, opts{batch: 5})
	res := read(t, div, source.ReadState{WatermarkTime: time.Date(2024, 1, 10, 8, 0, 0, 0, time.UTC), Watermark: "2024-01-10T08:00:00Z"}, 0)
	if got := ids(res.records, "id"); !slices.Equal(got, []string{"10", "11", "12"}) {
		t.Errorf("divisions since the 10th: %v", got)
	}
	if got := canon(t, res.records[1]); got != `{"id":11,"is_utility":1,"label":"Division 11","updated_at":"2024-01-11T08:00:00Z"}` {
		t.Errorf("division 11 = %s", got)
	}

	types := db.open(t, "from: appointment_type\nprimary_key: [id]\nfull_refresh: true\n", opts{batch: 2})
	for k := 0; k <= 3; k++ {
		first := read(t, types, source.ReadState{}, k)
		recs := append(first.records, resumeAfter(t, types, source.ReadState{}, first)...)
		if got := ids(recs, "label"); !slices.Equal(got, []string{"Inspection", "Estimate", "Install", "Repair", "Follow-up"}) {
			t.Errorf("killed after %d pages: appointment types %v", k, got)
		}
	}
}

// TestMySQLTimezone: naive DATETIME values are wall clocks in
// source.timezone, both when read and when the watermark is bound; a
// TIMESTAMP column is UTC (crmsync sets the session zone).
func TestMySQLTimezone(t *testing.T) {
	db := newMy(t)
	db.exec(t, "CREATE TABLE tz (id int PRIMARY KEY, local_at datetime, utc_at timestamp NULL DEFAULT NULL)")
	// Row i: local 2024-06-01 0i:00 Chicago (UTC-5) = 0(i+5):00 UTC; utc_at holds that UTC time.
	db.exec(t, "INSERT INTO tz VALUES "+values(6, func(i int) string {
		return fmt.Sprintf("(%d, '2024-06-01 %02d:00:00', '2024-06-01 %02d:00:00')", i, i, i+5)
	}))
	chicago, _ := time.LoadLocation("America/Chicago")
	wm := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC) // = 03:00 in Chicago: rows 3..6
	for _, col := range []string{"local_at", "utc_at"} {
		r := db.open(t, "from: tz\nprimary_key: [id]\nincremental: {field: "+col+"}\n", opts{batch: 2, tz: chicago})
		res := read(t, r, source.ReadState{WatermarkTime: wm, Watermark: wm.Format(time.RFC3339)}, 0)
		if got := ids(res.records, "id"); !slices.Equal(got, []string{"3", "4", "5", "6"}) {
			t.Errorf("%s >= 08:00Z read %v, want rows 3-6", col, got)
		}
		if len(res.records) > 0 && (res.records[0]["local_at"] != "2024-06-01T08:00:00Z" || res.records[0]["utc_at"] != "2024-06-01T08:00:00Z") {
			t.Errorf("%s: row 3 = %v, want both times 08:00Z", col, res.records[0])
		}
	}
}
