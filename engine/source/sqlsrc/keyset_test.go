package sqlsrc

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// bothDatabases runs a test against PostgreSQL and MariaDB.
func bothDatabases(t *testing.T, f func(t *testing.T, db *testDB)) {
	t.Run("postgres", func(t *testing.T) { f(t, newPG(t)) })
	t.Run("mysql", func(t *testing.T) { f(t, newMy(t)) })
}

// checkAll asserts that records hold ids 1..n once each.
func checkAll(t *testing.T, recs []map[string]any, n int) {
	t.Helper()
	seen := make(map[string]int, n)
	for _, id := range ids(recs, "id") {
		seen[id]++
	}
	for i := 1; i <= n; i++ {
		if c := seen[strconv.Itoa(i)]; c != 1 {
			t.Fatalf("id %d read %d times (want once); %d records in all", i, c, len(recs))
		}
	}
	if len(recs) != n {
		t.Fatalf("read %d records, want %d", len(recs), n)
	}
}

// TestOneTimestampAcrossBatches: 2,500 rows share one updated_at and a
// page holds 1,000, so the keyset must page on the key within one time;
// a read killed after page k resumes after its last committed row.
func TestOneTimestampAcrossBatches(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}big (id int PRIMARY KEY, name {text}, updated_at {ts})")
		db.exec(t, "INSERT INTO {s}big VALUES "+values(2500, func(i int) string {
			return fmt.Sprintf("(%d, 'name %d', '2024-03-01 10:00:00')", 2501-i, i) // keys inserted in reverse
		}))
		ent := "from: {s}big\nprimary_key: [id]\nincremental: {field: updated_at}\n"
		r := db.open(t, ent, opts{batch: 1000})
		wm := source.ReadState{WatermarkTime: time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC), Watermark: "2024-03-01T09:00:00Z"}

		for _, st := range []struct {
			name string
			st   source.ReadState
		}{{"full", source.ReadState{}}, {"watermark", wm}} {
			all := read(t, r, st.st, 0)
			if got := pageSizes(all.pages); !slices.Equal(got, []int{1000, 1000, 500}) {
				t.Fatalf("%s: page sizes %v, want [1000 1000 500]", st.name, got)
			}
			checkAll(t, all.records, 2500)
			if all.records[0]["id"].(fmt.Stringer).String() != "1" {
				t.Errorf("%s: first record %v, want id 1 (keyset order)", st.name, all.records[0])
			}
			if got := all.records[0]["updated_at"]; got != "2024-03-01T10:00:00Z" {
				t.Errorf("%s: updated_at = %v, want 2024-03-01T10:00:00Z", st.name, got)
			}
			if all.resume != "" || all.pages[0].Resume == "" || all.pages[1].Resume == "" {
				t.Fatalf("%s: positions %q %q %q: want one after each page but the last", st.name, all.pages[0].Resume, all.pages[1].Resume, all.resume)
			}
			for k := 1; k <= 3; k++ {
				first := read(t, r, st.st, k)
				checkAll(t, append(first.records, resumeAfter(t, r, st.st, first)...), 2500)
				if len(first.pages) != min(k, 3) {
					t.Fatalf("%s: killed after %d pages but %d were committed", st.name, k, len(first.pages))
				}
			}
		}
	})
}

// TestUpdatedRowsAreReread: after a sync, only rows whose increment
// moved (and those at exactly the watermark, read with >=) come back.
func TestUpdatedRowsAreReread(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}t (id int PRIMARY KEY, v int, updated_at {ts})")
		db.exec(t, "INSERT INTO {s}t VALUES "+values(40, func(i int) string {
			return fmt.Sprintf("(%d, 0, '2024-01-01 00:00:%02d')", i, i)
		}))
		r := db.open(t, "from: {s}t\nprimary_key: [id]\nincremental: {field: updated_at}\n", opts{batch: 7})
		first := read(t, r, source.ReadState{}, 0)
		checkAll(t, first.records, 40)
		// The runner's watermark: the maximum updated_at read.
		last := first.records[len(first.records)-1]["updated_at"].(string)
		wmt, err := time.Parse(time.RFC3339Nano, last)
		if err != nil {
			t.Fatal(err)
		}
		db.exec(t, "UPDATE {s}t SET v = 1, updated_at = '2024-01-02 00:00:00.5' WHERE id IN (3, 17, 25)")
		second := read(t, r, source.ReadState{WatermarkTime: wmt, Watermark: last}, 0)
		got := ids(second.records, "id")
		if want := []string{"40", "3", "17", "25"}; !slices.Equal(got, want) {
			t.Fatalf("incremental read got ids %v, want %v (the watermark row, then the updated rows in time order)", got, want)
		}
		if got := second.records[1]["updated_at"]; got != "2024-01-02T00:00:00.5Z" {
			t.Errorf("updated_at = %v, want fractional seconds kept", got)
		}
	})
}

// TestNullIncrements: rows whose increment is NULL are read on a full
// run (by key), skipped by a watermark, and caught by COALESCE.
func TestNullIncrements(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}n (id int PRIMARY KEY, a {text}, b int, updated_at {ts}, add_date {ts})")
		db.exec(t, "INSERT INTO {s}n VALUES "+values(30, func(i int) string {
			upd := "NULL"
			if i%3 == 0 {
				upd = fmt.Sprintf("'2024-05-01 00:00:%02d'", i)
			}
			add := "NULL"
			if i%5 != 0 {
				add = fmt.Sprintf("'2024-04-01 00:00:%02d'", i)
			}
			return fmt.Sprintf("(%d, NULL, NULL, %s, %s)", i, upd, add)
		}))
		plain := db.open(t, "from: {s}n\nprimary_key: [id]\nincremental: {field: updated_at}\n", opts{batch: 4})
		full := read(t, plain, source.ReadState{}, 0)
		checkAll(t, full.records, 30)
		if full.records[0]["a"] != nil || full.records[0]["b"] != nil || full.records[0]["updated_at"] != nil {
			t.Errorf("NULL columns must be JSON null: %v", full.records[0])
		}
		// Killed inside the read by key, the read goes on from there.
		part := read(t, plain, source.ReadState{}, 2)
		checkAll(t, append(part.records, resumeAfter(t, plain, source.ReadState{}, part)...), 30)

		wm := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		inc := read(t, plain, source.ReadState{WatermarkTime: wm, Watermark: "x"}, 0)
		if len(inc.records) != 10 {
			t.Errorf("watermark read got %d rows, want the 10 with updated_at", len(inc.records))
		}

		co := db.open(t, "from: {s}n\nprimary_key: [id]\nincremental: {field: changed_at, column: 'COALESCE(updated_at, add_date)'}\n", opts{batch: 4})
		got := read(t, co, source.ReadState{WatermarkTime: wm, Watermark: "x"}, 0)
		// Rows 5, 10, 20, 25 have neither time: 26 rows have one.
		if len(got.records) != 26 {
			t.Fatalf("COALESCE read got %d rows, want 26", len(got.records))
		}
		for _, rec := range got.records {
			if rec["changed_at"] == nil {
				t.Fatalf("changed_at missing from %v", rec)
			}
			if rec["updated_at"] != nil && rec["changed_at"] != rec["updated_at"] {
				t.Fatalf("changed_at %v != updated_at %v", rec["changed_at"], rec["updated_at"])
			}
		}
		if all := read(t, co, source.ReadState{}, 0); len(all.records) != 30 {
			t.Errorf("full COALESCE read got %d rows, want 30", len(all.records))
		}
	})
}

// TestCompositeKey pages on two key columns across batch borders, with
// and without an increment.
func TestCompositeKey(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}a2s (appointment_id int, service_id int, updated_at {ts}, PRIMARY KEY (appointment_id, service_id))")
		db.exec(t, "INSERT INTO {s}a2s VALUES "+values(60, func(i int) string {
			return fmt.Sprintf("(%d, %d, '2024-01-0%d 00:00:00')", (i-1)/6, (i-1)%6, 1+i%2)
		}))
		for _, ent := range []string{
			"from: {s}a2s\nprimary_key: [appointment_id, service_id]\nfull_refresh: true\n",
			"from: {s}a2s\nprimary_key: [appointment_id, service_id]\nincremental: {field: updated_at}\n",
		} {
			r := db.open(t, ent, opts{batch: 7})
			for k := 0; k <= 9; k++ {
				first := read(t, r, source.ReadState{}, k)
				recs := append(first.records, resumeAfter(t, r, source.ReadState{}, first)...)
				seen := map[string]bool{}
				for _, rec := range recs {
					key := fmt.Sprint(rec["appointment_id"], "/", rec["service_id"])
					if seen[key] {
						t.Fatalf("%q: key %s read twice", ent, key)
					}
					seen[key] = true
				}
				if len(seen) != 60 {
					t.Fatalf("%q (kill after %d): read %d distinct keys, want 60", ent, k, len(seen))
				}
			}
		}
	})
}

// TestStalePosition: a position past the last row (rows deleted since
// it was written) reads nothing and hands back "", so that the next sync
// starts over instead of continuing from the stale key forever.
func TestStalePosition(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}lk (id int PRIMARY KEY, label {text})")
		db.exec(t, "INSERT INTO {s}lk VALUES "+values(10, func(i int) string { return fmt.Sprintf("(%d, 'x')", i) }))
		r := db.open(t, "from: {s}lk\nprimary_key: [id]\nfull_refresh: true\n", opts{batch: 4})
		first := read(t, r, source.ReadState{}, 2)
		db.exec(t, "DELETE FROM {s}lk WHERE id > 8")
		rest := read(t, r, source.ReadState{Resume: first.resume}, 0)
		if len(rest.records) != 0 || len(rest.pages) != 1 || rest.resume != "" {
			t.Fatalf("after the stale position: %d records, %d pages, position %q; want one empty page with position \"\"", len(rest.records), len(rest.pages), rest.resume)
		}
		if again := read(t, r, source.ReadState{Resume: rest.resume}, 0); len(again.records) != 8 {
			t.Fatalf("the next sync read %d rows, want all 8", len(again.records))
		}
	})
}

// TestWindow applies --start-date/--end-date to the increment, as bound
// parameters, also inside a query that names them.
func TestWindow(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}w (id int PRIMARY KEY, updated_at {ts})")
		db.exec(t, "INSERT INTO {s}w VALUES "+values(31, func(i int) string {
			return fmt.Sprintf("(%d, '2024-01-%02d 12:00:00')", i, i)
		}))
		st := source.ReadState{Start: time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC)}
		for _, ent := range []string{
			"from: {s}w\nprimary_key: [id]\nincremental: {field: updated_at}\n",
			"query: SELECT id, updated_at FROM {s}w WHERE updated_at < :window_end\nprimary_key: [id]\nincremental: {field: updated_at}\n",
		} {
			got := ids(read(t, db.open(t, ent, opts{batch: 3}), st, 0).records, "id")
			want := []string{"10", "11", "12", "13", "14", "15", "16", "17", "18", "19"}
			if !slices.Equal(got, want) {
				t.Errorf("%q: window read %v, want %v", ent, got, want)
			}
		}
	})
}

// TestUnkeyedStream: no key and no increment: one statement, pages of
// the batch size, no Resume.
func TestUnkeyedStream(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}s (id int, label {text})")
		db.exec(t, "INSERT INTO {s}s VALUES "+values(25, func(i int) string { return fmt.Sprintf("(%d, 'x')", i) }))
		res := read(t, db.open(t, "from: {s}s\ncolumns: [id]\ncount: true\n", opts{batch: 10}), source.ReadState{}, 0)
		if got := pageSizes(res.pages); !slices.Equal(got, []int{10, 10, 5}) {
			t.Errorf("page sizes %v, want [10 10 5]", got)
		}
		for _, p := range res.pages {
			if p.Resume != "" || p.Total != 25 {
				t.Errorf("page %d: resume %q total %d, want no resume and total 25", p.Number, p.Resume, p.Total)
			}
		}
		if _, ok := res.records[0]["label"]; ok {
			t.Errorf("columns: [id] still read label: %v", res.records[0])
		}
		checkAll(t, res.records, 25)
	})
}
