package pipelines_test

import (
	"strings"
	"testing"
)

// TestSalesRabbit runs pipelines/salesrabbit.yaml against recorded
// answers: bearer auth, page/limit paging to a short page, and the
// increment sent in an If-Modified-Since header.
func TestSalesRabbit(t *testing.T) {
	const token = "sr_live_0123456789abcdef0123456789abcdef"
	srv := newFixtures(t, "salesrabbit", wantHeader("Authorization", "Bearer "+token))
	plan := loadPlan(t, "salesrabbit", map[string]string{
		"SALESRABBIT_TOKEN":      token,
		"SALESRABBIT_PAGE_SIZE":  "2",
		"SALESRABBIT_RATE_LIMIT": "1000",
	})
	d := openDest(t)
	logs := &logBuffer{}

	res := srv.round(t, plan, d, logs, 1)
	wantCounts(t, res, map[string]counts{
		"leads": {Processed: 5, Created: 5},
		"users": {Processed: 3, Created: 3},
	})
	d.wantTypes(t, "salesrabbit_leads", map[string]string{
		"id": "bigint", "latitude": "numeric", "date_modified": "timestamp with time zone", "date_of_birth": "date", "custom_fields": "jsonb",
	})
	wantRows(t, d, `SELECT id, email, phone_primary, phone_alternate, state, zip, latitude, status, date_modified, date_of_birth::text, deleted_at, custom_fields->>'roofAge' FROM salesrabbit_leads ORDER BY id`,
		"880001|maria.gonzalez@example.com|+13035550142|∅|CO|80202|39.747500|Appointment Set|2024-03-01T17:00:00Z|∅|∅|18",
		"880002|dkim@example.org|+17205550199|+17205550101|CO|80302|40.017900|Not Home|2024-03-01T18:00:00Z|∅|∅|∅",
		"880003|jane.doe@gmail|∅|∅|CO|8012|39.613300|Callback|2024-03-02T16:30:00Z|1971-07-04|∅|∅", // messy, kept with warnings
		"880004|tom.baker@example.com|+15125550177|∅|TX|78701|30.267200|Sold|2024-03-03T20:00:00Z|∅|∅|∅",
		"880005|∅|∅|∅|TX|78704|30.243000|Not Interested|2024-03-03T21:00:00Z|∅|2024-03-04T14:00:00Z|∅",
	)
	wantRows(t, d, `SELECT id, external_id, active FROM salesrabbit_users ORDER BY id`, "501|GEN-201|true", "502|GEN-202|true", "503|∅|false")
	for _, msg := range []string{
		"Validation warning for field 'email' with value 'jane.doe@gmail' (Record: id=880003)",
		"Validation warning for field 'zip' with value '8012' (Record: id=880003)",
	} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("the log lacks %q", msg)
		}
	}

	res = srv.round(t, plan, d, logs, 2)
	wantCounts(t, res, map[string]counts{
		"leads": {Processed: 2, Created: 1, Updated: 1},
		"users": {Processed: 3, Unchanged: 3},
	})
	wantRows(t, d, `SELECT status, notes FROM salesrabbit_leads WHERE id = 880002`, "Appointment Set|home after 5")
}
