package sqlsrc

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// salesProDB makes a SalesPro-like PostgreSQL schema: customer (text
// ids, some empty), estimate (numeric money columns), lead_results (a
// JSON array of form answers kept as text).
func salesProDB(t *testing.T) *testDB {
	db := newPG(t)
	db.exec(t, `CREATE TABLE {s}customer (customer_id text, estimate_id text, company_id text, company_name text,
		customer_first_name text, customer_last_name text, crm_source text, crm_source_id text, updated_at timestamp)`)
	db.exec(t, "INSERT INTO {s}customer VALUES "+values(30, func(i int) string {
		id := fmt.Sprintf("'C%03d'", i)
		if i%10 == 0 {
			id = "''"
		}
		return fmt.Sprintf("(%s, 'E%03d', 'co1', 'Acme Exteriors', 'Ann%d', 'Lee', 'genius', '%d', '2024-04-01 12:00:%02d')", id, i, i, i, i)
	}))
	db.exec(t, `CREATE TABLE {s}estimate (estimate_id text PRIMARY KEY, company_id text, office_name text, customer_id text,
		sale_amount numeric(14,2), is_sale boolean, finance_amount numeric, down_payment numeric(14,2), document_count int,
		created_at timestamp, updated_at timestamp)`)
	db.exec(t, "INSERT INTO {s}estimate VALUES "+values(50, func(i int) string {
		return fmt.Sprintf("('E%03d', 'co1', 'Dallas', 'C%03d', %d.%02d, %t, %s, NULL, %d, '2024-04-01 00:00:00', '2024-04-%02d 15:00:00')",
			i, i, 1000*i, i, i%2 == 0, []string{"NULL", "'99999999999999999999.999999'", "0"}[i%3], i%4, 1+i%20)
	}))
	db.exec(t, `CREATE TABLE {s}lead_results (estimate_id text PRIMARY KEY, company_id text, lead_results text,
		created_at timestamp, updated_at timestamp)`)
	db.exec(t, `INSERT INTO {s}lead_results VALUES
		('E001', 'co1', '[{"title":"Appointment Result ","value":"Sold"},{"title":"Job Type 1","value":"Roofing"},{"title":"Job Type 1 Amount","value":"$1,250.00"}]', '2024-04-01', '2024-04-02 10:00:00'),
		('E002', 'co1', '[{"title":"Both Homeowners Present?","value":"Yes"}]', '2024-04-01', '2024-04-03 10:00:00'),
		('E003', 'co1', NULL, '2024-04-01', NULL)`)
	return db
}

func TestSalesProEstimates(t *testing.T) {
	db := salesProDB(t)
	r := db.open(t, "from: {s}estimate\nprimary_key: [estimate_id]\nincremental: {field: updated_at}\ncount: true\n", opts{batch: 8})
	full := read(t, r, source.ReadState{}, 0)
	if len(full.records) != 50 || full.pages[0].Total != 50 {
		t.Fatalf("full sync: %d records, total %d", len(full.records), full.pages[0].Total)
	}
	var e7 map[string]any
	for _, rec := range full.records {
		if rec["estimate_id"] == "E007" {
			e7 = rec
		}
	}
	// numeric keeps its exact text, never through float64.
	if e7["sale_amount"] != json.Number("7000.07") || e7["finance_amount"] != json.Number("99999999999999999999.999999") ||
		e7["is_sale"] != false || e7["down_payment"] != nil || e7["updated_at"] != "2024-04-08T15:00:00Z" {
		t.Errorf("E007 = %v", e7)
	}

	wm := maxTime(t, full.records, "updated_at") // 2024-04-20 15:00, held by E019 and E039
	db.exec(t, "UPDATE {s}estimate SET sale_amount = 1.10, updated_at = '2024-05-01 09:00:00' WHERE estimate_id IN ('E003', 'E044')")
	inc := read(t, r, source.ReadState{WatermarkTime: wm, Watermark: wm.Format(time.RFC3339)}, 0)
	if got := ids(inc.records, "estimate_id"); !slices.Equal(got, []string{"E019", "E039", "E003", "E044"}) {
		t.Fatalf("incremental sync read %v, want the two rows at the watermark and the two updated", got)
	}
	if inc.pages[0].Total != 4 {
		t.Errorf("incremental total %d, want 4", inc.pages[0].Total)
	}
	if inc.records[2]["sale_amount"] != json.Number("1.10") {
		t.Errorf("updated E003 = %v", inc.records[2])
	}
}

func TestSalesProCustomersAndLeadResults(t *testing.T) {
	db := salesProDB(t)
	cust := db.open(t, `
from: {s}customer
where: customer_id IS NOT NULL AND customer_id <> ''
primary_key: [customer_id]
incremental: {field: updated_at}
`, opts{batch: 10})
	res := read(t, cust, source.ReadState{}, 0)
	if len(res.records) != 27 {
		t.Fatalf("customers: %d, want 27 (three have an empty id)", len(res.records))
	}
	for _, rec := range res.records {
		if rec["customer_id"] == "" {
			t.Fatalf("the where filter let an empty id through: %v", rec)
		}
	}

	lr := db.open(t, `
query: |
  SELECT estimate_id, company_id, lead_results, created_at, updated_at
  FROM {s}lead_results
  WHERE estimate_id IS NOT NULL AND estimate_id <> ''
    AND (COALESCE(updated_at, created_at) >= :watermark OR :watermark IS NULL)
primary_key: [estimate_id]
incremental: {field: changed_at, column: "COALESCE(updated_at, created_at)"}
`, opts{batch: 2})
	all := read(t, lr, source.ReadState{}, 0)
	if got := ids(all.records, "estimate_id"); !slices.Equal(got, []string{"E001", "E002", "E003"}) {
		t.Fatalf("lead results %v, want E001, E002, E003 (a full read goes by key)", got)
	}
	// The JSON text column stays text: the pipeline parses it (type: json).
	var answers []map[string]string
	if err := json.Unmarshal([]byte(all.records[0]["lead_results"].(string)), &answers); err != nil || answers[0]["title"] != "Appointment Result " {
		t.Errorf("lead_results = %v (%v)", all.records[0]["lead_results"], err)
	}
	if all.records[2]["lead_results"] != nil || all.records[2]["changed_at"] != "2024-04-01T00:00:00Z" {
		t.Errorf("E003 = %v", all.records[2])
	}
	wm := time.Date(2024, 4, 3, 0, 0, 0, 0, time.UTC)
	if got := ids(read(t, lr, source.ReadState{WatermarkTime: wm, Watermark: "2024-04-03T00:00:00Z"}, 0).records, "estimate_id"); !slices.Equal(got, []string{"E002"}) {
		t.Errorf("lead results since 04-03: %v", got)
	}
}
