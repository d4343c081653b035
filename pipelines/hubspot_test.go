package pipelines_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestHubSpot runs pipelines/hubspot.yaml against recorded CRM v3 answers:
// a first sync from epoch 0 (with one 429 on the way), then an
// incremental one from each entity's newest committed modification time.
func TestHubSpot(t *testing.T) {
	const token = "pat-na1-11111111-2222-3333-4444-555555555555"
	srv := newFixtures(t, "hubspot", wantHeader("Authorization", "Bearer "+token))
	plan := loadPlan(t, "hubspot", map[string]string{
		"HUBSPOT_TOKEN":            token,
		"HUBSPOT_DIVISIONS_OBJECT": "2-4242",
		// the genius users object's id comes from the environment too
		"HUBSPOT_GENIUS_USERS_OBJECT": "2-9999",
	})
	d := openDest(t)
	logs := &logBuffer{}

	// HubSpot's rolling limit answers the first companies request once (a
	// retried try is not kept in the fixtures).
	srv.failFirst("companies", http.StatusTooManyRequests, map[string]string{"Retry-After": "1", "Content-Type": "application/json;charset=utf-8"},
		`{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","correlationId":"c0ffee00-0000-4000-8000-000000000429","policyName":"SECONDLY"}`)
	res := srv.round(t, plan, d, logs, 1)
	wantCounts(t, res, map[string]counts{
		"contacts":             {Processed: 8, Created: 8},
		"companies":            {Processed: 2, Created: 2},
		"deals":                {Processed: 5, Created: 4, Rejected: 1},
		"divisions":            {Processed: 2, Created: 2},
		"appointments":         {Processed: 2, Created: 2},
		"genius_users":         {Processed: 2, Created: 2},
		"contact_associations": {Processed: 4, Created: 4},
		"contact_deals":        {Processed: 3, Created: 3},
	})
	// The CRM v4 batch read: one request for the four contacts; labels kept.
	wantRows(t, d, `SELECT contact_id, deal_id, type_ids::text, labels::text FROM hubspot_contact_deals_deals ORDER BY 1`,
		"101|7001|{4,37}|{\"Decision maker\"}",
		"102|7002|{4}|{}",
		"104|7003|{4}|{}",
	)
	if r := res["companies"]; r.Retries != 1 || r.APICalls != 2 {
		t.Errorf("companies: %d calls, %d retries; want the 429 retried once", r.APICalls, r.Retries)
	}

	d.wantTypes(t, "hubspot_contacts", map[string]string{
		"id": "bigint", "email": "text", "phone": "text", "created_at": "timestamp with time zone", "archived": "boolean", "owner_id": "bigint",
	})
	d.wantTypes(t, "hubspot_deals", map[string]string{
		"amount": "numeric", "close_date": "timestamp with time zone", "is_closed_won": "boolean",
	})
	wantRows(t, d, `SELECT id, email, full_name, phone, mobile_phone, state, zip, owner_id, created_at, updated_at FROM hubspot_contacts WHERE id IN (101, 103, 104) ORDER BY id`,
		"101|maria.gonzalez@example.com|Maria Gonzalez|+13035550142|∅|CO|80202|51234567|2023-11-02T15:04:11.311Z|2024-01-05T10:00:00Z",
		// The messy contact: a mail without a top-level domain and a ZIP that lost its
		// leading zero are kept with a warning (on_invalid: warn); the impossible
		// phone number is stored as NULL; "new york" is stored as NY.
		"103|jane.doe@gmail|jane DOE|∅|∅|NY|2134|∅|2023-12-01T12:00:00Z|2024-01-07T09:15:00Z",
		"104|tom.baker@example.com|Tom Baker|+15125550177|∅|TX|78701-1234|62345678|2023-08-20T16:20:00Z|2024-01-08T08:00:00Z",
	)
	for _, msg := range []string{
		"Validation warning for field 'email' with value 'jane.doe@gmail' (Record: id=103)",
		"Validation warning for field 'zip' with value '2134' (Record: id=103)",
		"Completed hubspot contacts sync: 8 created, 0 updated, 0 failed",
	} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("the log lacks %q", msg)
		}
	}
	wantRows(t, d, `SELECT id, name, amount, close_date, stage, is_closed_won FROM hubspot_deals ORDER BY id`,
		"7001|Gonzalez - Roof Replacement|12500.50|2024-03-15T00:00:00Z|closedwon|true",
		"7002|Kim - Gutters|∅|2024-04-01T00:00:00Z|appointmentscheduled|false",
		"7003|Baker - Siding|8200|∅|qualifiedtobuy|false",
		"7004|O'Connor - Windows|980|2024-02-20T00:00:00Z|closedlost|false",
	)
	if rj := d.rejects(t, "hubspot", "deals"); len(rj) != 1 || !strings.HasPrefix(rj[0], "7005: ") || !strings.Contains(rj[0], "amount") {
		t.Errorf("deal rejects: %q, want 7005 for its amount", rj)
	}
	wantRows(t, d, `SELECT id, name, genius_division_id, abbreviation FROM hubspot_divisions ORDER BY id`,
		"9001|Denver|12|DEN", "9002|Austin|15|AUS")
	wantRows(t, d, `SELECT contact_id, to_object, to_id, association_type FROM hubspot_contact_associations_links ORDER BY 1, 2, 3, 4`,
		"101|appointment|880001|contact_to_appointment",
		"101|company|5001|contact_to_company",
		"101|company|5001|contact_to_company_unlabeled",
		"101|deal|7001|contact_to_deal",
		"101|divisions|9001|contact_to_divisions",
		"102|company|5001|contact_to_company",
		"102|company|5001|contact_to_company_unlabeled",
		"102|deal|7002|contact_to_deal",
		"102|divisions|9001|contact_to_divisions",
		"104|appointment|880002|contact_to_appointment",
		"104|company|5002|contact_to_company",
		"104|company|5002|contact_to_company_unlabeled",
		"104|deal|7003|contact_to_deal",
		"104|divisions|9002|contact_to_divisions",
	)
	d.wantTypes(t, "hubspot_appointments", map[string]string{"id": "bigint", "starts_at": "timestamp with time zone", "owner_id": "bigint"})
	wantRows(t, d, `SELECT id, name, starts_at, ends_at, status, owner_id FROM hubspot_appointments ORDER BY id`,
		"880001|Gonzalez - roof inspection|2024-01-10T15:00:00Z|2024-01-10T16:30:00Z|SCHEDULED|51234567",
		"880002|Baker - siding estimate|2024-01-12T18:00:00Z|2024-01-12T19:00:00Z|COMPLETED|62345678")
	wantRows(t, d, `SELECT id, genius_user_id, first_name, last_name, email, genius_division_id, title, is_inactive FROM hubspot_genius_users ORDER BY id`,
		"77001|311|Sam|Lee|sam.lee@homegenius.example|12|Sales Rep|false",
		"77002|312|Ana|Ruiz|ana.ruiz@homegenius.example|15|Sales Manager|false")
	if wm := d.watermark(t, "hubspot", "deals"); wm != "2024-01-06T10:00:00Z" {
		t.Errorf("deals watermark %q: want the newest committed deal's (7004), not the rejected 7005's", wm)
	}

	// Second round: each search starts at the stored watermark (epoch ms);
	// the records at the watermark come back and are left unchanged.
	res = srv.round(t, plan, d, logs, 2)
	wantCounts(t, res, map[string]counts{
		"contacts":             {Processed: 3, Created: 1, Updated: 1, Unchanged: 1},
		"companies":            {},
		"deals":                {Processed: 2, Created: 1, Unchanged: 1},
		"divisions":            {},
		"appointments":         {Processed: 2, Created: 1, Unchanged: 1},
		"genius_users":         {Processed: 1, Updated: 1},
		"contact_associations": {Processed: 4, Updated: 1, Unchanged: 3}, // 104's new appointment link is a child row
		"contact_deals":        {Processed: 2, Unchanged: 2},
	})
	// 102 lost its only deal: v4 leaves it out, and delete_missing: hard
	// removes its row and, with it, its child row.
	wantRows(t, d, `SELECT contact_id, deal_id FROM hubspot_contact_deals_deals ORDER BY 1`, "101|7001", "104|7003")
	wantRows(t, d, `SELECT contact_id FROM hubspot_contact_deals ORDER BY 1`, "101", "104")
	wantRows(t, d, `SELECT id, email, lifecycle_stage, marketsharp_id FROM hubspot_contacts WHERE id IN (102, 109) ORDER BY id`,
		"102|david.kim@example.org|customer|MS-90555",
		"109|r.patel@example.com|lead|∅")
	wantRows(t, d, `SELECT amount FROM hubspot_deals WHERE id = 7005`, "1500")
	// 102 lost its deal: a re-synced parent's links are replaced.
	wantRows(t, d, `SELECT to_object, to_id FROM hubspot_contact_associations_links WHERE contact_id = 102 ORDER BY 1, 2`,
		"company|5001", "company|5001", "divisions|9001")
	// 104 got a second appointment.
	wantRows(t, d, `SELECT to_id FROM hubspot_contact_associations_links WHERE contact_id = 104 AND to_object = 'appointment' ORDER BY 1`,
		"880002", "880003")
	wantRows(t, d, `SELECT id, ends_at, owner_id FROM hubspot_appointments WHERE id = 880003`, "880003|∅|∅")
	wantRows(t, d, `SELECT is_inactive FROM hubspot_genius_users WHERE id = 77002`, "true")
	if n := d.count(t, "hubspot_contacts"); n != 9 {
		t.Errorf("hubspot_contacts has %d rows, want 9", n)
	}
}
