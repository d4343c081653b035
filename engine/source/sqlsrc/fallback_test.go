package sqlsrc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// runnerState is what the runner would hand the next read: the newest
// updated_at read (skipping NULLs) as the watermark, and the Resume of
// the last page.
func runnerState(t *testing.T, recs []map[string]any, resume string, prev source.ReadState) source.ReadState {
	t.Helper()
	st := prev
	for _, r := range recs {
		s, _ := r["updated_at"].(string)
		if s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("updated_at %q: %v", s, err)
		}
		if v.After(st.WatermarkTime) {
			st.WatermarkTime, st.Watermark = v, v.Format(time.RFC3339Nano)
		}
	}
	st.Resume = resume
	return st
}

// readAll reads to the end, continuing after kills every `kill` pages,
// as a sync killed and rerun would; it returns every record read and
// the state the runner would hold afterwards.
func readAll(t *testing.T, r source.Reader, st source.ReadState, kill int) ([]map[string]any, source.ReadState) {
	t.Helper()
	var recs []map[string]any
	for i := 0; ; i++ {
		res := read(t, r, st, kill)
		recs = append(recs, res.records...)
		if len(res.pages) > 0 {
			st.Resume = res.resume
		}
		if !res.stopped {
			break
		}
		if i > 1000 {
			t.Fatal("the read never ends")
		}
	}
	return recs, runnerState(t, recs, st.Resume, st)
}

// once drops the repeated ids of a read, which repeats at most max.
func once(t *testing.T, recs []map[string]any, max int) []map[string]any {
	t.Helper()
	seen := map[string]bool{}
	var out []map[string]any
	for _, r := range recs {
		id := fmt.Sprint(r["id"])
		if !seen[id] {
			seen[id] = true
			out = append(out, r)
		}
	}
	if len(recs)-len(out) > max {
		t.Fatalf("%d rows read twice, more than %d", len(recs)-len(out), max)
	}
	return out
}

// TestFallbackStream: rows whose updated_at is NULL are dated by
// add_date; an incremental read finds the new and changed ones by a
// second keyset on (add_date, id) from its own watermark, kept in the
// resume state, with no COALESCE. Rows share one updated_at across page
// borders, reads are killed and resumed, and a row committed late with
// an older add_date is caught by the lookback.
func TestFallbackStream(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}ps (id int PRIMARY KEY, v int, updated_at {ts}, add_date {ts})")
		db.exec(t, "CREATE INDEX ps_upd ON {s}ps (updated_at)")
		db.exec(t, "CREATE INDEX ps_add ON {s}ps (add_date)")
		row := func(i, v int) string {
			upd := fmt.Sprintf("'2024-05-01 00:%02d:00'", i%50)
			switch {
			case i%4 == 0:
				upd = "NULL"
			case i%3 == 0:
				upd = "'2024-05-01 12:00:00'" // shared by many rows
			}
			add := fmt.Sprintf("'2024-04-01 00:%02d:00'", i%60)
			if i%20 == 0 {
				add = "NULL" // neither time: only a full read sees it
			}
			return fmt.Sprintf("(%d, %d, %s, %s)", i, v, upd, add)
		}
		db.exec(t, "INSERT INTO {s}ps VALUES "+values(60, func(i int) string { return row(i, 0) }))
		r := db.open(t, "from: {s}ps\nprimary_key: [id]\nincremental: {field: updated_at, fallback: add_date, lookback: 5m}\n", opts{batch: 4})

		for _, kill := range []int{0, 1, 3} {
			t.Run(fmt.Sprintf("kill every %d pages", kill), func(t *testing.T) {
				full, st := readAll(t, r, source.ReadState{}, kill)
				// The catch-up after the read by key re-reads the rows
				// within the lookback of the newest updated_at.
				checkAll(t, once(t, full, 25), 60)
				if !slices.IsSortedFunc(ids(full, "id")[:60], func(a, b string) int { return len(a) - len(b) }) {
					t.Errorf("a full read goes by key: %v", ids(full, "id"))
				}
				var rs resumeState
				if err := json.Unmarshal([]byte(st.Resume), &rs); err != nil || rs.WM["add_date"] == "" || len(rs.After) != 0 {
					t.Fatalf("a complete read leaves only the fallback watermark, got %q", st.Resume)
				}
				if !strings.HasPrefix(rs.WM["add_date"], "2024-04-01 00:56:00") {
					t.Errorf("fallback watermark %q, want the newest add_date of the NULL rows (00:56)", rs.WM["add_date"])
				}

				// Nothing changed: only the rows at the watermark and
				// those inside the lookback come back.
				again, st2 := readAll(t, r, st, kill)
				for _, rec := range again {
					if rec["updated_at"] == nil && rec["add_date"].(string) < "2024-04-01T00:51:00Z" {
						t.Errorf("re-read %v, older than the fallback watermark minus the lookback", rec)
					}
				}
				if st2.Resume != st.Resume {
					t.Errorf("state moved without changes: %q -> %q", st.Resume, st2.Resume)
				}
			})
		}

		// A row changed behind the key cursor while a full read runs, and
		// one ahead of it changed later: the catch-up re-reads the first,
		// or the watermark (the second's time) would skip it for good.
		// (A read shorter than the lookback leaves that to the next
		// sync's lookback; without one, the catch-up compares with >.)
		r0 := db.open(t, "from: {s}ps\nprimary_key: [id]\nincremental: {field: updated_at, fallback: add_date}\n", opts{batch: 4})
		for _, stop := range []int{0, 1} {
			var part readResult
			var rest []map[string]any
			db.exec(t, "UPDATE {s}ps SET v = 0, updated_at = '2024-05-01 12:00:00' WHERE id IN (2, 58)")
			if stop == 0 {
				// Changed while the first page is emitted.
				changed := false
				part.err = r0.Read(t.Context(), source.ReadState{}, func(p source.Page) error {
					if !changed {
						db.exec(t, "UPDATE {s}ps SET v = 5, updated_at = '2024-05-01 12:30:00' WHERE id = 2")
						db.exec(t, "UPDATE {s}ps SET v = 5, updated_at = '2024-05-01 13:00:00' WHERE id = 58")
						changed = true
					}
					for _, rec := range p.Records {
						part.records = append(part.records, decode(t, rec.JSON))
					}
					return nil
				})
				if part.err != nil {
					t.Fatal(part.err)
				}
			} else {
				// Killed after a page, changed, resumed.
				part = read(t, r0, source.ReadState{}, 1)
				db.exec(t, "UPDATE {s}ps SET v = 5, updated_at = '2024-05-01 12:30:00' WHERE id = 2")
				db.exec(t, "UPDATE {s}ps SET v = 5, updated_at = '2024-05-01 13:00:00' WHERE id = 58")
				rest, _ = readAll(t, r0, source.ReadState{Resume: part.resume}, 0)
			}
			var v2 []string
			for _, rec := range append(part.records, rest...) {
				if fmt.Sprint(rec["id"]) == "2" {
					v2 = append(v2, fmt.Sprint(rec["v"]))
				}
			}
			if !slices.Contains(v2, "5") {
				t.Errorf("stop %d: row 2, changed behind the cursor during a full read, was read as %v: its change is lost", stop, v2)
			}
		}

		full, st := readAll(t, r, source.ReadState{}, 0)
		checkAll(t, once(t, full, 25), 60)
		// New rows, half without updated_at; changed rows; a late
		// commit whose add_date is older than the fallback watermark.
		db.exec(t, "INSERT INTO {s}ps VALUES "+values(10, func(i int) string {
			if i%2 == 0 {
				return fmt.Sprintf("(%d, 1, NULL, '2024-06-01 00:00:%02d')", 100+i, i)
			}
			return fmt.Sprintf("(%d, 1, '2024-06-01 00:00:%02d', '2024-06-01 00:00:00')", 100+i, i)
		}))
		db.exec(t, "UPDATE {s}ps SET v = 2, updated_at = '2024-06-02 00:00:00' WHERE id IN (4, 9)") // 4 had NULL
		db.exec(t, "UPDATE {s}ps SET v = 3, add_date = '2024-06-03 00:00:00' WHERE id = 8")         // NULL updated_at, re-dated
		db.exec(t, "INSERT INTO {s}ps VALUES (200, 1, NULL, '2024-06-02 23:57:00')")                // committed late
		for _, kill := range []int{0, 1} {
			inc, _ := readAll(t, r, st, kill)
			got := map[string]bool{}
			for _, rec := range inc {
				got[fmt.Sprint(rec["id"])] = true
			}
			for _, id := range []string{"101", "102", "103", "104", "105", "106", "107", "108", "109", "110", "4", "9", "8", "200"} {
				if !got[id] {
					t.Errorf("kill %d: incremental read missed id %s; read %v", kill, id, ids(inc, "id"))
				}
			}
			if len(inc) > 30 {
				t.Errorf("kill %d: incremental read %d rows: it should read only what changed", kill, len(inc))
			}
		}
	})
}

const joinedQuery = `query: |
  SELECT p.id, p.name, p.updated_at, p.add_date, tps.third_party_id AS hubspot_contact_id, tps.updated_at AS tps_updated_at
  FROM {s}prospect p
  LEFT JOIN {s}third_party_source tps ON tps.id = p.tps_id
primary_key: [id]
`

// TestJoinedStream: a field read from a joined table stays fresh when
// incremental.joined names the joined table's change time: a change to
// the joined row alone re-reads the main rows it belongs to. Without
// it, lint warns naming the field and the joined table.
func TestJoinedStream(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}third_party_source (id int PRIMARY KEY, third_party_id {text}, updated_at {ts})")
		db.exec(t, "CREATE TABLE {s}prospect (id int PRIMARY KEY, name {text}, tps_id int, updated_at {ts}, add_date {ts})")
		db.exec(t, "INSERT INTO {s}third_party_source VALUES "+values(20, func(i int) string {
			return fmt.Sprintf("(%d, 'hs-%d', '2024-01-01 00:00:%02d')", i, i, i)
		}))
		db.exec(t, "INSERT INTO {s}prospect VALUES "+values(60, func(i int) string {
			upd := fmt.Sprintf("'2024-02-01 00:00:%02d'", i%7)
			if i%5 == 0 {
				upd = "NULL"
			}
			return fmt.Sprintf("(%d, 'p%d', %d, %s, '2024-01-15 00:00:%02d')", i, i, 1+i%20, upd, i%60)
		}))

		_, probs := db.compile(t, joinedQuery+"incremental: {field: updated_at, fallback: add_date}\n", opts{})
		if len(probs) != 2 || probs[0].Code != "sql-joined-stale" || !probs[0].Warning ||
			!strings.Contains(probs[0].Message, "field hubspot_contact_id comes from the joined table "+db.prefix+"third_party_source (tps)") {
			t.Errorf("lint without incremental.joined: %+v", probs)
		}
		op, probs := db.compile(t, joinedQuery+"incremental: {field: updated_at, fallback: add_date, joined: [tps_updated_at]}\n", opts{batch: 7})
		if op == nil || len(probs) != 0 {
			t.Fatalf("lint with incremental.joined: %+v", probs)
		}
		r, err := op.Open(t.Context(), &source.Env{Redact: func(s string) string { return s }})
		if err != nil {
			t.Fatal(err)
		}
		full, st := readAll(t, r, source.ReadState{}, 0)
		checkAll(t, full, 60)

		// The joined row changes; the prospects do not.
		db.exec(t, "UPDATE {s}third_party_source SET third_party_id = 'hs-new', updated_at = '2024-03-01 00:00:00' WHERE id IN (3, 8)")
		for _, kill := range []int{0, 1} {
			inc, _ := readAll(t, r, st, kill)
			got := map[string]string{}
			for _, rec := range inc {
				got[fmt.Sprint(rec["id"])] = fmt.Sprint(rec["hubspot_contact_id"])
			}
			for i := 1; i <= 60; i++ {
				if tps := 1 + i%20; tps == 3 || tps == 8 {
					if got[fmt.Sprint(i)] != "hs-new" {
						t.Errorf("kill %d: prospect %d (tps %d) not re-read with its new HubSpot id: %v", kill, i, tps, got)
					}
				}
			}
			if len(inc) > 25 {
				t.Errorf("kill %d: read %d rows for 6 changed", kill, len(inc))
			}
		}
	})
}

// TestExplain: crmsync check's EXPLAIN warns, naming the entity and the
// table, when the incremental read would scan a table with no index on
// updated_at; the read by key does not.
func TestExplain(t *testing.T) {
	old := explainMinRows
	explainMinRows = 100
	defer func() { explainMinRows = old }()
	bothDatabases(t, func(t *testing.T, db *testDB) {
		db.exec(t, "CREATE TABLE {s}big (id int PRIMARY KEY, v int, updated_at {ts})")
		db.exec(t, "INSERT INTO {s}big VALUES "+values(3000, func(i int) string {
			return fmt.Sprintf("(%d, %d, '2024-01-01 00:%02d:00')", i, i, i%60)
		}))
		if db.driver == "postgres" {
			db.exec(t, "ANALYZE {s}big")
		} else {
			db.exec(t, "ANALYZE TABLE {s}big")
		}
		op, _ := db.compile(t, "from: {s}big\nprimary_key: [id]\nincremental: {field: updated_at}\n", opts{})
		warns, err := op.(*opener).Explain(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(warns) != 1 || !strings.Contains(warns[0], `entity "e": the incremental read would`) || !strings.Contains(warns[0], "big") {
			t.Errorf("warnings %q, want one for the incremental read naming the table", warns)
		}
		db.exec(t, "CREATE INDEX big_upd ON {s}big (updated_at, id)")
		if db.driver == "postgres" {
			db.exec(t, "ANALYZE {s}big")
		}
		if warns, err := op.(*opener).Explain(t.Context(), nil); err != nil || len(warns) != 0 {
			t.Errorf("with the index: %q %v", warns, err)
		}
	})
}
