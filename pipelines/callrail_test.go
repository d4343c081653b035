package pipelines_test

import (
	"strings"
	"testing"
)

// TestCallRail runs pipelines/callrail.yaml against recorded answers: the
// Token auth format, per-account substreams, a short page before the last
// one, and calls read from start_date = newest call less a day.
func TestCallRail(t *testing.T) {
	const key = "4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d"
	srv := newFixtures(t, "callrail", wantHeader("Authorization", `Token token="`+key+`"`))
	plan := loadPlan(t, "callrail", map[string]string{
		"CALLRAIL_API_KEY":    key,
		"CALLRAIL_RATE_LIMIT": "1000",
	})
	d := openDest(t)
	logs := &logBuffer{}

	res := srv.round(t, plan, d, logs, 1)
	wantCounts(t, res, map[string]counts{
		"accounts":         {Processed: 2, Created: 2},
		"companies":        {Processed: 3, Created: 3},
		"users":            {Processed: 2, Created: 2},
		"trackers":         {Processed: 1, Created: 1},
		"calls":            {Processed: 4, Created: 4},
		"form_submissions": {Processed: 1, Created: 1},
		"tags":             {Processed: 2, Created: 2},
	})
	d.wantTypes(t, "callrail_calls", map[string]string{
		"duration": "bigint", "start_time": "timestamp with time zone", "value": "numeric", "tags": "ARRAY", "answered": "boolean",
	})
	wantRows(t, d, `SELECT id, account_id, start_time, duration, customer_phone_number, customer_state, tags::text, value, lead_status FROM callrail_calls ORDER BY start_time`,
		"CAL8154748ae6bd4e278a7cddd38a662f4f|ACC8154748ae6bd4e278a7cddd38a662f4f|2024-03-01T14:43:33.617Z|184|+13035550142|CO|{Roofing,\"Appointment Set\"}|12500.50|good_lead",
		"CALb486a71dh9e07b5abdaf06bd995b7c|ACC1e2b7a9c0d3f4e5a6b7c8d9e0f1a2b3c|2024-03-01T16:00:00Z|95|+15125550177|Ontario|{Siding}|8200|good_lead",
		"CAL9264859bf7ce5f389b8deee49b773f5a|ACC8154748ae6bd4e278a7cddd38a662f4f|2024-03-01T17:05:10Z|0|∅|∅|{}|∅|∅", // a withheld number
		"CALa375960cg8df6a49ac9eff5ac884a6b|ACC8154748ae6bd4e278a7cddd38a662f4f|2024-03-02T20:10:00Z|41|+17205550199|CO|{}|∅|not_a_lead",
	)
	wantRows(t, d, `SELECT id, account_id, status FROM callrail_companies ORDER BY id`,
		"COM8154748ae6bd4e278a7cddd38a662f4f|ACC8154748ae6bd4e278a7cddd38a662f4f|active",
		"COM9264859bf7ce5f389b8deee49b773f5a|ACC8154748ae6bd4e278a7cddd38a662f4f|disabled",
		"COMa375960cg8df6a49ac9eff5ac884a6b|ACC1e2b7a9c0d3f4e5a6b7c8d9e0f1a2b3c|active")
	wantRows(t, d, `SELECT company_id, tracking_numbers::text, destination_number, source_type FROM callrail_trackers`,
		"COM8154748ae6bd4e278a7cddd38a662f4f|{+13038163491,+13038163492}|+13035550100|google_paid")
	wantRows(t, d, `SELECT customer_email, form_data->>'message', submitted_at FROM callrail_form_submissions`,
		"ana.silva@example.com|Hail damage on the north side|2024-03-01T19:00:00Z")
	for _, msg := range []string{
		"Validation warning for field 'customer_state' with value 'Ontario' (Record: id=CALb486a71dh9e07b5abdaf06bd995b7c)",
		"Validation warning for field 'email' with value 'front desk@example.com'",
	} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("the log lacks %q", msg)
		}
	}

	res = srv.round(t, plan, d, logs, 2)
	wantCounts(t, res, map[string]counts{
		"accounts":         {Processed: 2, Unchanged: 2},
		"companies":        {Processed: 3, Unchanged: 3},
		"calls":            {Processed: 2, Created: 1, Updated: 1},
		"form_submissions": {},
	})
	// The voicemail was scored and tagged after the first sync.
	wantRows(t, d, `SELECT lead_status, tags::text, value FROM callrail_calls WHERE id = 'CALa375960cg8df6a49ac9eff5ac884a6b'`, "good_lead|{Gutters}|980")
	if n := d.count(t, "callrail_calls"); n != 5 {
		t.Errorf("callrail_calls has %d rows, want 5", n)
	}
}
