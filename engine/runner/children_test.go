package runner_test

import (
	"context"
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

// SalesPro keeps form answers as a JSON string of {title, value} pairs
// whose titles drift; line items hide in "Job Type N" / "Job Type N Amount".
const leadResults = `{"estimate_id":"E1","lead_results":"[{\"title\":\"Appointment Result \",\"value\":\"Sold\"},{\"title\":\"Deposit Type-\",\"value\":\"Check\"},{\"title\":\"Job Type 1\",\"value\":\"Roofing\"},{\"title\":\"Job Type 1 Amount\",\"value\":\"$12,500.00\"},{\"title\":\"Job Type 2\",\"value\":\"Gutters\"},{\"title\":\"Job Type 2 Amount\",\"value\":\"$900\"}]"}
{"estimate_id":"E2","lead_results":"[{\"title\":\"Result\",\"value\":\"No Sale\"}]"}
`

const salesproYAML = `version: 1
name: salespro
source: {type: file, path: "*.jsonl"}
entities:
  lead_results:
    primary_key: estimate_id
    fields:
      estimate_id: estimate_id
      answers: {path: lead_results, type: json}
      appointment_result: {expr: 'kv_get(answers, "title", "value", "Appointment Result", "Result")'}
      deposit_type: {expr: 'kv_get(answers, "title", "value", "Deposit Type")'}
    children:
      line_items:
        from: '= filter(map(1..6, ({"n": #, "type": kv_get(answers, "title", "value", "Job Type " + string(#)), "amount": kv_get(answers, "title", "value", "Job Type " + string(#) + " Amount")})), .type != nil)'
        primary_key: job_type_number
        fields:
          job_type_number: {path: n, type: integer}
          job_type: type
          job_type_amount: {path: amount, type: decimal}
      answers_raw:
        from: lead_results
        fields:
          title: title
          value: value
`

func TestChildRows(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "lead_results.jsonl"), []byte(leadResults), 0o644)
	yamlPath := filepath.Join(dir, "salespro.yaml")
	os.WriteFile(yamlPath, []byte(salesproYAML), 0o644)
	plan, f := pipeline.LoadFile(yamlPath, pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	dest, db, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil || r.Created != 2 {
		t.Fatalf("%+v %v", r.Sync, r.Err)
	}
	var res, dep string
	db.QueryRow(`SELECT appointment_result, deposit_type FROM salespro_lead_results WHERE estimate_id='E1'`).Scan(&res, &dep)
	if res != "Sold" || dep != "Check" {
		t.Fatalf("kv_get: %q %q", res, dep)
	}
	rows, _ := db.Query(`SELECT estimate_id, job_type_number, job_type, job_type_amount FROM salespro_lead_results_line_items ORDER BY 1, 2`)
	var got []string
	for rows.Next() {
		var id, typ, amt string
		var n int
		rows.Scan(&id, &n, &typ, &amt)
		got = append(got, id+"|"+typ+"|"+amt)
	}
	rows.Close()
	if len(got) != 2 || got[0] != "E1|Roofing|12500.00" || got[1] != "E1|Gutters|900" {
		t.Fatalf("line items: %v", got)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM salespro_lead_results_answers_raw`).Scan(&n)
	if n != 7 {
		t.Fatalf("answers_raw rows: %d, want 7", n)
	}
	// A re-synced parent replaces its children: E1 loses its gutters.
	os.WriteFile(filepath.Join(dir, "lead_results.jsonl"), []byte(`{"estimate_id":"E1","lead_results":"[{\"title\":\"Job Type 1\",\"value\":\"Roofing\"},{\"title\":\"Job Type 1 Amount\",\"value\":\"$12,500.00\"}]"}`+"\n"), 0o644)
	r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	db.QueryRow(`SELECT count(*) FROM salespro_lead_results_line_items WHERE estimate_id='E1'`).Scan(&n)
	if n != 1 {
		t.Fatalf("children of a re-synced parent not replaced: %d rows", n)
	}
}

// TestMaxRecordsMidPageLosesNothing: when max_records stops a read in the
// middle of a page, the next run reads that page again from its start.
func TestMaxRecordsMidPageLosesNothing(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("id,name\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&csv, "%d,n%d\n", i, i)
	}
	os.WriteFile(filepath.Join(dir, "people.csv"), []byte(csv.String()), 0o644)
	yamlPath := filepath.Join(dir, "p.yaml")
	os.WriteFile(yamlPath, []byte("version: 1\nname: p\nsource: {type: file, path: people.csv}\nentities:\n  people:\n    primary_key: id\n    batch_size: 3\n    fields: {id: {path: id, type: integer}, name: name}\n"), 0o644)
	dest, db, _ := openSQLite(t)
	five := 5
	plan, f := pipeline.LoadFile(yamlPath, pipeline.Options{MaxRecords: &five})
	if plan == nil {
		t.Fatal(f)
	}
	if r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()}); r.Err != nil || r.Created != 5 {
		t.Fatalf("first run: %+v %v", r.Sync, r.Err)
	}
	plan, _ = pipeline.LoadFile(yamlPath, pipeline.Options{})
	if r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()}); r.Err != nil || r.Created != 5 {
		t.Fatalf("second run: %+v %v", r.Sync, r.Err)
	}
	var n int
	db.QueryRow(`SELECT count(*) FROM p_people`).Scan(&n)
	if n != 10 {
		t.Fatalf("%d rows, want all 10", n)
	}
}

// TestFailedSyncIsRecorded: a sync that fails (here, its file is gone)
// ends as failed in the history with its error, never left running.
func TestFailedSyncIsRecorded(t *testing.T) {
	dir := t.TempDir()
	yamlPath := filepath.Join(dir, "p.yaml")
	os.WriteFile(yamlPath, []byte("version: 1\nname: p\nsource: {type: file, path: missing.csv}\nentities:\n  people:\n    primary_key: id\n    fields: {id: id}\n"), 0o644)
	plan, f := pipeline.LoadFile(yamlPath, pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	dest, _, _ := openSQLite(t)
	r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
	if r.Status != "failed" || r.Err == nil {
		t.Fatalf("status %s, err %v", r.Status, r.Err)
	}
	hist, _ := dest.History(context.Background(), sink.Filter{Pipeline: "p"})
	if len(hist) != 1 || hist[0].Status != "failed" || len(hist[0].Errors) != 1 || !strings.Contains(hist[0].Errors[0], "missing.csv") {
		t.Fatalf("history: %+v", hist)
	}
}

// TestHardDeleteTakesChildren: a parent that delete_missing: hard removes
// after a full sync takes its child rows with it, in SQLite and PostgreSQL.
func TestHardDeleteTakesChildren(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			write := func(lines string) { os.WriteFile(filepath.Join(dir, "orders.jsonl"), []byte(lines), 0o644) }
			write(`{"id":"1","items":[{"sku":"a"},{"sku":"b"}]}` + "\n" + `{"id":"2","items":[{"sku":"c"}]}` + "\n")
			yamlPath := filepath.Join(dir, "o.yaml")
			os.WriteFile(yamlPath, []byte(`version: 1
name: shop
source: {type: file, path: orders.jsonl}
entities:
  orders:
    primary_key: id
    delete_missing: hard
    fields: {id: {path: id, type: integer}}
    children:
      items:
        from: items
        primary_key: sku
        fields: {sku: sku}
`), 0o644)
			plan, f := pipeline.LoadFile(yamlPath, pipeline.Options{})
			if plan == nil {
				t.Fatal(f)
			}
			var dest sink.Destination
			var count func(string) int
			if kind == "sqlite" {
				d, db, _ := openSQLite(t)
				dest, count = d, func(q string) int { var n int; db.QueryRow(q).Scan(&n); return n }
			} else {
				d, db := openPostgres(t)
				dest, count = d, func(q string) int { var n int; db.QueryRow(q).Scan(&n); return n }
			}
			for run := 1; run <= 2; run++ {
				if r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Full: true}); r.Err != nil {
					t.Fatalf("run %d: %v", run, r.Err)
				}
				write(`{"id":"1","items":[{"sku":"a"},{"sku":"b"}]}` + "\n") // order 2 is gone
			}
			if n := count(`SELECT count(*) FROM shop_orders`); n != 1 {
				t.Fatalf("%d orders, want 1", n)
			}
			if n := count(`SELECT count(*) FROM shop_orders_items`); n != 2 {
				t.Fatalf("%d items, want 2: the removed order's items must go too", n)
			}
		})
	}
}
