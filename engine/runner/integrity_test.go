package runner_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/source/filesrc"
)

// messyJSONL writes n records with every kind of trouble: blank keys,
// keys repeated within a batch and across batches, NUL bytes, bytes that
// are not UTF-8, a lone surrogate in a field only _raw holds, bad emails
// and records the filter drops.
func messyJSONL(t *testing.T, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("%d", i)
		switch {
		case i%37 == 0:
			id = ""
		case i%11 == 0:
			id = fmt.Sprintf("%d", i-3) // seen three records ago: same batch, mostly
		case i%101 == 0:
			id = "1" // seen in the first batch
		}
		email := fmt.Sprintf("u%d@example.com", i)
		if i%13 == 0 {
			email = "not-an-email"
		}
		notes := "fine"
		switch {
		case i%23 == 0:
			notes = `bad\u0000notes`
		case i%29 == 0:
			notes = "caf\xe9"
		}
		extra := "ok"
		if i%31 == 0 {
			extra = `\ud800`
		}
		name := "n"
		if i%17 == 0 {
			name = "skip"
		}
		fmt.Fprintf(&b, `{"id":"%s","email":"%s","notes":"%s","extra":"%s","name":"%s"}`+"\n", id, email, notes, extra, name)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "people.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func filePlan(t *testing.T, path, extra string) *pipeline.Plan {
	t.Helper()
	src := fmt.Sprintf(`version: 1
name: messy
source: {type: file, path: %q}
defaults: {batch_size: 100}
entities:
  people:
    primary_key: id
    keep_raw: true
    filter: 'name != "skip"'
    fields:
      id: {path: id, required: true}
      email: {path: email, validate: [email], on_invalid: reject}
      notes: notes
      name: name
%s`, path, extra)
	plan, f := pipeline.Load(filepath.Join(filepath.Dir(path), "p.yaml"), []byte(src), pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	return plan
}

// TestCountsAddUp: on messy input, every processed record is counted
// exactly once — processed = created + updated + unchanged + filtered +
// rejected + failed + duplicates — poison values are rejects naming the
// field and offset (the rest of the batch commits), blank keys are
// rejects, and the same holds for both destinations. A second --full run
// leaves one reject per record, not two.
func TestCountsAddUp(t *testing.T) {
	for _, dest := range []string{"sqlite", "postgres"} {
		t.Run(dest, func(t *testing.T) {
			var d sink.Destination
			var db *sql.DB
			if dest == "sqlite" {
				d, db, _ = openSQLite(t)
			} else {
				d, db = openPostgres(t)
			}
			plan := filePlan(t, messyJSONL(t, 1000), "")
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: d, Logger: quiet()})
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			sum := r.Created + r.Updated + r.Unchanged + r.Filtered + r.Rejected + r.Failed + r.Duplicates
			if r.Processed != 1000 || sum != r.Processed {
				t.Fatalf("processed %d, sum %d: %+v", r.Processed, sum, r.Sync)
			}
			if r.Duplicates == 0 || r.Updated+r.Unchanged == 0 || r.Rejected == 0 {
				t.Fatalf("the input should have in-batch duplicates, cross-batch repeats and rejects: %+v", r.Sync)
			}
			var rows int64
			if err := db.QueryRow("SELECT count(*) FROM messy_people").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != r.Created {
				t.Errorf("%d rows, %d created", rows, r.Created)
			}
			h, err := d.History(context.Background(), sink.Filter{Pipeline: "messy"})
			if err != nil || len(h) != 1 || h[0].Duplicates != r.Duplicates {
				t.Fatalf("history %+v %v", h, err)
			}
			rejects, err := d.Rejects(context.Background(), sink.Filter{Pipeline: "messy"})
			if err != nil || int64(len(rejects)) != r.Rejected {
				t.Fatalf("%d rejects stored, %d counted (%v)", len(rejects), r.Rejected, err)
			}
			want := map[string]bool{
				`field "notes": NUL byte at offset 3`:                     false,
				"the line is not valid UTF-8":                             false,
				`field "_raw": unpaired surrogate (\ud800) at offset 71`:  false,
				"primary key id is blank":                                 false,
				"field email: value 'not-an-email': Invalid email format": false,
			}
			for _, rj := range rejects {
				for _, reason := range rj.Reasons {
					at, rest, ok := strings.Cut(reason, ": ")
					if !ok || !strings.HasPrefix(at, "people.jsonl:") {
						t.Fatalf("reason without file:line: %q", reason)
					}
					for w := range want {
						if rest == w || (strings.HasPrefix(w, `field "_raw"`) && strings.HasPrefix(rest, `field "_raw": unpaired`)) {
							want[w] = true
						}
					}
				}
				if rj.Raw == "" {
					t.Fatalf("reject %s keeps no raw text", rj.RecordID)
				}
			}
			for w, seen := range want {
				if !seen {
					t.Errorf("no reject says %q", w)
				}
			}
			// Again, in full: the same rejects, once each.
			r2 := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: d, Logger: quiet(), Full: true})
			if r2.Err != nil {
				t.Fatal(r2.Err)
			}
			if sum := r2.Created + r2.Updated + r2.Unchanged + r2.Filtered + r2.Rejected + r2.Failed + r2.Duplicates; sum != r2.Processed || r2.Created != 0 {
				t.Fatalf("second run: %+v", r2.Sync)
			}
			again, err := d.Rejects(context.Background(), sink.Filter{Pipeline: "messy"})
			if err != nil || len(again) != len(rejects) {
				t.Fatalf("after a second full run %d rejects are stored, want %d (%v)", len(again), len(rejects), err)
			}
		})
	}
}

// TestFileRejectsSayWhere: email and conversion rejects of a CSV record
// carry the file and line like the reader's own rejects, a raw NUL in a
// CSV field is a reject naming the field and offset, and the rest of the
// batch commits — in both destinations.
func TestFileRejectsSayWhere(t *testing.T) {
	dir := t.TempDir()
	csv := "id,email,n,notes\n1,a@example.com,1,ok\n2,not-an-email,2,ok\n3,c@example.com,x,ok\n4,d@example.com,4,be\x00d\n,e@example.com,5,no key\n6,f@example.com,6,ok\n"
	path := filepath.Join(dir, "leads.csv")
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`version: 1
name: leads
source: {type: file, path: %q}
entities:
  leads:
    primary_key: id
    fields:
      id: {path: id, required: true}
      email: {path: email, validate: [email], on_invalid: reject}
      n: {path: n, type: integer, on_invalid: reject}
      notes: notes
`, path)
	plan, f := pipeline.Load(filepath.Join(dir, "p.yaml"), []byte(src), pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	want := map[string]string{
		"2":           "leads.csv:3: field email: value 'not-an-email': Invalid email format",
		"3":           "leads.csv:4: field n: cannot parse integer value 'x'",
		"4":           `leads.csv:5: field "notes": NUL byte at offset 2`,
		"leads.csv:6": "leads.csv:6: primary key id is blank",
	}
	for _, dest := range []string{"sqlite", "postgres"} {
		t.Run(dest, func(t *testing.T) {
			var d sink.Destination
			var db *sql.DB
			if dest == "sqlite" {
				d, db, _ = openSQLite(t)
			} else {
				d, db = openPostgres(t)
			}
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: d, Logger: quiet()})
			if r.Err != nil || r.Created != 2 || r.Rejected != 4 {
				t.Fatalf("%+v %v", r.Sync, r.Err)
			}
			var n int
			if err := db.QueryRow("SELECT count(*) FROM leads_leads").Scan(&n); err != nil || n != 2 {
				t.Fatalf("%d rows (%v)", n, err)
			}
			rejects, err := d.Rejects(context.Background(), sink.Filter{})
			if err != nil || len(rejects) != 4 {
				t.Fatalf("%+v %v", rejects, err)
			}
			for _, rj := range rejects {
				w, ok := want[rj.RecordID]
				if !ok || len(rj.Reasons) != 1 || !strings.HasPrefix(rj.Reasons[0], w) {
					t.Errorf("reject %q: %q, want %q", rj.RecordID, rj.Reasons, w)
				}
			}
		})
	}
}

// TestRejectReplacedPerRecord: a run that does not read everything (here
// --full with max_records) replaces the earlier rejects of the records it rejects
// again and keeps the others.
func TestRejectReplacedPerRecord(t *testing.T) {
	for _, dest := range []string{"sqlite", "postgres"} {
		t.Run(dest, func(t *testing.T) {
			var d sink.Destination
			if dest == "sqlite" {
				d, _, _ = openSQLite(t)
			} else {
				d, _ = openPostgres(t)
			}
			plan := filePlan(t, messyJSONL(t, 300), "")
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: d, Logger: quiet()})
			if r.Err != nil {
				t.Fatal(r.Err)
			}
			before, _ := d.Rejects(context.Background(), sink.Filter{})
			n := 100
			plan.Entities[0].MaxRecords = n
			r2 := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: d, Logger: quiet(), Full: true})
			if r2.Err != nil {
				t.Fatal(r2.Err)
			}
			after, _ := d.Rejects(context.Background(), sink.Filter{})
			if len(after) != len(before) {
				t.Fatalf("%d rejects before, %d after a partial rerun", len(before), len(after))
			}
			var fresh int64
			for _, rj := range after {
				if rj.SyncID == r2.ID {
					fresh++
				}
			}
			if fresh != r2.Rejected || fresh == 0 {
				t.Fatalf("%d rejects of the second sync, it rejected %d", fresh, r2.Rejected)
			}
		})
	}
}

// TestDuplicateParentKeepsLastChildren: a parent repeated in one batch is
// one duplicate, and its children are the last record's only.
func TestDuplicateParentKeepsLastChildren(t *testing.T) {
	dir := t.TempDir()
	data := `{"id":"1","items":[{"n":1,"sku":"a"},{"n":2,"sku":"b"}]}
{"id":"2","items":[{"n":1,"sku":"c"}]}
{"id":"1","items":[{"n":3,"sku":"d"}]}
`
	os.WriteFile(filepath.Join(dir, "orders.jsonl"), []byte(data), 0o644)
	src := `version: 1
name: shop
source: {type: file, path: "*.jsonl"}
entities:
  orders:
    primary_key: id
    fields:
      id: {path: id, required: true}
    children:
      items:
        from: items
        primary_key: n
        fields:
          n: {path: n, type: integer}
          sku: sku
`
	plan, f := pipeline.Load(filepath.Join(dir, "p.yaml"), []byte(src), pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	for _, dest := range []string{"sqlite", "postgres"} {
		t.Run(dest, func(t *testing.T) {
			var d sink.Destination
			var db *sql.DB
			if dest == "sqlite" {
				d, db, _ = openSQLite(t)
			} else {
				d, db = openPostgres(t)
			}
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: d, Logger: quiet()})
			if r.Err != nil || r.Created != 2 || r.Duplicates != 1 || r.Processed != 3 {
				t.Fatalf("%+v %v", r.Sync, r.Err)
			}
			rows, err := db.Query(`SELECT id, sku FROM shop_orders_items ORDER BY id, sku`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var id, sku string
				rows.Scan(&id, &sku)
				got = append(got, id+sku)
			}
			if strings.Join(got, ",") != "1d,2c" {
				t.Fatalf("children %v, want 1d,2c", got)
			}
		})
	}
}

// TestChildRejectKeepsCounts: a rejected child element is stored (with
// the parent's file and line) and makes the sync partial, while the
// entity's counts still add up.
func TestChildRejectKeepsCounts(t *testing.T) {
	dir := t.TempDir()
	data := `{"id":"1","items":[{"n":1,"qty":"2"},{"n":2,"qty":"lots"}]}
{"id":"2","items":[{"n":1,"qty":"1"}]}
`
	os.WriteFile(filepath.Join(dir, "orders.jsonl"), []byte(data), 0o644)
	src := `version: 1
name: shop
source: {type: file, path: "*.jsonl"}
entities:
  orders:
    primary_key: id
    fields:
      id: {path: id, required: true}
    children:
      items:
        from: items
        primary_key: n
        fields:
          n: {path: n, type: integer}
          qty: {path: qty, type: integer, on_invalid: reject}
`
	plan, f := pipeline.Load(filepath.Join(dir, "p.yaml"), []byte(src), pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	d, _, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: d, Logger: quiet()})
	if r.Err != nil || r.Status != sink.StatusPartial || r.Processed != 2 || r.Created != 2 || r.Rejected != 0 {
		t.Fatalf("%+v %v", r.Sync, r.Err)
	}
	rejects, _ := d.Rejects(context.Background(), sink.Filter{})
	if len(rejects) != 1 || !strings.HasPrefix(rejects[0].Reasons[0], "orders.jsonl:1: field qty") {
		t.Fatalf("%+v", rejects)
	}
}
