package pipelines_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
)

// marketsharpAuth checks MarketSharp's header:
// <company>:<api key>:<unix ts>:<base64(HMAC-SHA256(base64-decoded secret, company+key+ts))>.
func marketsharpAuth(company, key string, secret []byte) func(*http.Request) error {
	return func(r *http.Request) error {
		parts := strings.Split(r.Header.Get("Authorization"), ":")
		if len(parts) != 4 || parts[0] != company || parts[1] != key {
			return fmt.Errorf("authorization is not company:key:ts:hash")
		}
		if _, err := strconv.ParseInt(parts[2], 10, 64); err != nil {
			return fmt.Errorf("timestamp %q", parts[2])
		}
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(company + key + parts[2]))
		if parts[3] != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
			return fmt.Errorf("the HMAC does not match")
		}
		return nil
	}
}

// TestMarketSharp runs pipelines/marketsharp.yaml against recorded OData
// Atom feeds: the signed Authorization header on every request, $top/$skip
// pages, a 503 waited out, typed Edm values and m:null, $filter on
// lastUpdate from the watermark less the lookback, and lookups read in
// full each run — all 23 entity sets.
func TestMarketSharp(t *testing.T) {
	const company, key = "4711", "a1b2c3d4-api-key"
	secret := []byte("marketsharp-shared-secret")
	srv := newFixtures(t, "marketsharp", marketsharpAuth(company, key, secret))
	plan := loadPlan(t, "marketsharp", map[string]string{
		"MARKETSHARP_COMPANY_ID": company,
		"MARKETSHARP_API_KEY":    key,
		"MARKETSHARP_SECRET_KEY": base64.StdEncoding.EncodeToString(secret),
		"MARKETSHARP_PAGE_SIZE":  "2",
		"MARKETSHARP_RATE_LIMIT": "1000",
	})
	d := openDest(t)
	logs := &logBuffer{}

	// The first contacts request finds the service busy and is retried
	// (fixtures keep only the exchanges that succeeded).
	srv.failFirst("contacts", http.StatusServiceUnavailable, map[string]string{"Content-Type": "application/xml", "Retry-After": "0"},
		`<?xml version="1.0" encoding="utf-8"?><error><message>The server is busy.</message></error>`)
	res := srv.round(t, plan, d, logs, 1)
	if r := res["contacts"]; r.Retries != 1 {
		t.Errorf("contacts: %d retries, want the 503 retried once", r.Retries)
	}
	wantCounts(t, res, map[string]counts{
		"contacts":                   {Processed: 3, Created: 3},
		"customers":                  {Processed: 1, Created: 1},
		"jobs":                       {Processed: 1, Created: 1},
		"appointments":               {Processed: 1, Created: 1},
		"leads":                      {Processed: 1, Created: 1},
		"inquiries":                  {Processed: 1, Created: 1},
		"activities":                 {Processed: 1, Created: 1},
		"employees":                  {Processed: 2, Created: 2},
		"inquiry_source_primaries":   {Processed: 1, Created: 1},
		"appointment_results":        {Processed: 2, Created: 2},
		"prospects":                  {Processed: 1, Created: 1},
		"product_interests":          {Processed: 1, Created: 1},
		"addresses":                  {Processed: 1, Created: 1},
		"contact_phones":             {Processed: 1, Created: 1},
		"custom_fields":              {Processed: 1, Created: 1},
		"contact_types":              {Processed: 1, Created: 1},
		"inquiry_source_secondaries": {Processed: 1, Created: 1},
		"inquiry_statuses":           {Processed: 1, Created: 1},
		"activity_references":        {Processed: 1, Created: 1},
		"activity_results":           {Processed: 1, Created: 1},
		"product_types":              {Processed: 2, Created: 2},
		"product_details":            {Processed: 1, Created: 1},
		"companies":                  {Processed: 1, Created: 1},
	})
	if len(res) != 23 || len(plan.Entities) != 23 {
		t.Errorf("run 1 synced %d of %d entities, want all 23", len(res), len(plan.Entities))
	}
	d.wantTypes(t, "marketsharp_contacts", map[string]string{
		"is_active": "boolean", "balance": "numeric", "last_update": "timestamp with time zone",
	})
	wantRows(t, d, `SELECT id, first_name, last_name, email, phone, is_active, balance, last_update FROM marketsharp_contacts ORDER BY id`,
		"0a1b2c3d-0000-4000-8000-000000000001|Maria|Gonzalez & Sons|maria@example.com|+13035550142|true|12345678901234.56|2024-05-01T09:30:00Z",
		"0a1b2c3d-0000-4000-8000-000000000002|Tom|Baker|∅|+15125550177|true|0.10|2024-05-01T09:40:00Z",
		"0a1b2c3d-0000-4000-8000-000000000003|Ann|Lee|∅|∅|false|-5|2024-05-01T09:45:00.123Z",
	)
	wantRows(t, d, `SELECT job_number, total_amount, sale_date FROM marketsharp_jobs`, "J-1001|18250.75|2024-04-15T00:00:00Z")
	wantRows(t, d, `SELECT primary_source, secondary_source FROM marketsharp_inquiries`, "Web|∅")
	// The entities added for all 23: Edm.Int32, Edm.Decimal, Edm.Double,
	// Edm.Boolean and Edm.DateTime typed; m:null is NULL.
	for _, tc := range []struct {
		table string
		types map[string]string
	}{
		{"marketsharp_prospects", map[string]string{"company_id": "bigint", "do_not_mail": "boolean", "last_update": "timestamp with time zone"}},
		{"marketsharp_product_interests", map[string]string{"price_quoted": "numeric", "is_active": "boolean", "last_update": "timestamp with time zone"}},
		{"marketsharp_addresses", map[string]string{"latitude": "numeric", "longitude": "numeric", "is_active": "boolean"}},
		{"marketsharp_inquiry_statuses", map[string]string{"id": "bigint", "company_id": "bigint", "last_update_utc": "timestamp with time zone"}},
		{"marketsharp_activity_results", map[string]string{"id": "bigint", "count_as_contacted": "boolean", "last_update": "timestamp with time zone"}},
		{"marketsharp_companies", map[string]string{"id": "bigint", "number": "bigint"}},
	} {
		d.wantTypes(t, tc.table, tc.types)
	}
	d.wantTypes(t, "marketsharp_inquiries", map[string]string{"inquiry_status_id": "bigint", "is_active": "boolean"})
	d.wantTypes(t, "marketsharp_activities", map[string]string{"reminder_minutes": "bigint", "completed_date": "timestamp with time zone"})
	wantRows(t, d, `SELECT i.inquiry_status_id, s.name, p.name, x.name, i.division FROM marketsharp_inquiries i
		JOIN marketsharp_inquiry_statuses s ON s.id = i.inquiry_status_id
		JOIN marketsharp_inquiry_source_primaries p ON p.id = i.inquiry_source_primary_id
		JOIN marketsharp_inquiry_source_secondaries x ON x.id = i.inquiry_source_secondary_id AND x.inquiry_source_primary_id = p.id`,
		"3|Appointment set|Web|Google Ads|∅")
	wantRows(t, d, `SELECT reminder_minutes, activity_result_id, activity_reference_id, completed_date FROM marketsharp_activities`,
		"15|∅|12|2024-04-09T16:20:00Z")
	wantRows(t, d, `SELECT j.inquiry_id, j.completed_date, j.exported_to_guild_quality, r.name, a.type FROM marketsharp_jobs j
		JOIN marketsharp_appointments a ON a.inquiry_id = j.inquiry_id JOIN marketsharp_appointment_results r ON r.id = a.result_id`,
		"5a000000-0000-4000-8000-000000000001|∅|false|Sold|In-home")
	wantRows(t, d, `SELECT first_name, middle_initial, email1, email2, has_dne_email, company_id, last_update FROM marketsharp_prospects`,
		"Lena|∅|lena@example.com|∅|true|4711|2024-04-02T10:15:00.5Z")
	wantRows(t, d, `SELECT price_quoted, product_detail_id FROM marketsharp_product_interests`, "99999999999.99|∅")
	wantRows(t, d, `SELECT line1, line2, latitude, longitude FROM marketsharp_addresses`, "1 Main St|∅|39.7392358|-104.990251")
	wantRows(t, d, `SELECT contact_id, home_phone, cell_phone, work_phone FROM marketsharp_contact_phones`,
		"0a1b2c3d-0000-4000-8000-000000000001|(303) 555-0142|303-555-0199|∅")
	wantRows(t, d, `SELECT id, name, last_update_by, last_update_utc FROM marketsharp_inquiry_statuses`, "3|Appointment set|∅|2023-11-02T08:00:00Z")
	wantRows(t, d, `SELECT name, is_active, company_id FROM marketsharp_product_types ORDER BY id`, "Windows|true|4711", "Siding|false|∅")
	wantRows(t, d, `SELECT id, number, email, fax FROM marketsharp_companies`, "4711|1001|office@example.com|∅")
	if got := d.watermark(t, "marketsharp", "contacts"); !strings.HasPrefix(got, "2024-05-01T09:45:00.123") {
		t.Errorf("contacts watermark %q", got)
	}
	if strings.Contains(logs.String(), key) || strings.Contains(logs.String(), base64.StdEncoding.EncodeToString(secret)) {
		t.Error("the log shows a MarketSharp secret")
	}

	res = srv.round(t, plan, d, logs, 2)
	wantCounts(t, res, map[string]counts{
		"contacts":            {Processed: 2, Created: 1, Updated: 1},
		"customers":           {},
		"jobs":                {},
		"employees":           {Processed: 2, Unchanged: 2},
		"appointment_results": {Processed: 2, Unchanged: 2},
		"prospects":           {},
		"product_interests":   {},
		"addresses":           {Processed: 1, Unchanged: 1},
		"contact_phones":      {Processed: 1, Unchanged: 1},
		"product_types":       {Processed: 2, Unchanged: 2},
		"companies":           {Processed: 1, Unchanged: 1},
	})
	wantRows(t, d, `SELECT first_name, last_name, last_update FROM marketsharp_contacts ORDER BY id`,
		"Maria|Gonzalez & Sons|2024-05-01T09:30:00Z",
		"Tom|Baker|2024-05-01T09:40:00Z",
		"Ann|Lee-Park|2024-05-02T08:00:00Z",
		"Dana|White|2024-05-02T08:30:00Z",
	)

	// Bad answers: a feed that is not well-formed XML and an OData error
	// document fail their entity with a clear error; the rows committed
	// before stay.
	for _, tc := range []struct{ entity, want string }{
		{"contacts", "the body is not well-formed XML at line 5"},
		{"customers", `status 400: the server answered Bad Request: the server says "Syntax error at position 11`},
	} {
		e := plan.Entities[slices.IndexFunc(plan.Entities, func(e *pipeline.Entity) bool { return e.Name == tc.entity })]
		r := srv.sync(t, plan, e, d, logs, filepath.Join("testdata", "marketsharp-bad", tc.entity))
		if r.Err == nil {
			t.Fatalf("run 3 %s: no error", tc.entity)
		}
		for _, want := range []string{fmt.Sprintf("entity %q: page 1: GET https://api4.marketsharpm.com/WcfDataService.svc/", tc.entity), tc.want} {
			if !strings.Contains(r.Err.Error(), want) {
				t.Errorf("run 3 %s: error %q\nlacks %q", tc.entity, r.Err, want)
			}
		}
		if strings.Contains(r.Err.Error(), key) {
			t.Errorf("run 3 %s: the error shows the API key", tc.entity)
		}
	}
	if n := d.count(t, "marketsharp_contacts"); n != 4 {
		t.Errorf("after the bad answers: %d contacts, want the 4 committed", n)
	}
}
