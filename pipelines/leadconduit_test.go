package pipelines_test

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestLeadConduit runs pipelines/leadconduit.yaml against recorded
// answers: basic auth, after_id keyset paging with the cursor read from
// the last event of each page, and start = newest event less 2 hours.
func TestLeadConduit(t *testing.T) {
	const key = "lc_0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	srv := newFixtures(t, "leadconduit", wantHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("X:"+key))))
	plan := loadPlan(t, "leadconduit", map[string]string{
		"LEADCONDUIT_API_KEY":    key,
		"LEADCONDUIT_RATE_LIMIT": "1000",
	})
	d := openDest(t)
	logs := &logBuffer{}

	res := srv.round(t, plan, d, logs, 1)
	wantCounts(t, res, map[string]counts{"events": {Processed: 5, Created: 5}})
	d.wantTypes(t, "leadconduit_events", map[string]string{"start_timestamp": "timestamp with time zone", "wait_ms": "bigint", "appended": "jsonb"})
	wantRows(t, d, `SELECT id, type, outcome_combined, flow_name, start_timestamp, email, phone, state, postal_code, appended->'acme_crm'->>'lead_id' FROM leadconduit_events ORDER BY id`,
		"65e1f0a0c9e77c0012a3b401|source|success|Roofing Leads|2024-03-01T15:00:00Z|maria.gonzalez@example.com|+13035550142|CO|80202|∅",
		"65e1f0a0c9e77c0012a3b402|recipient|success|Roofing Leads|2024-03-01T15:00:01Z|∅|∅|∅|∅|GA-1001",
		"65e1f0a0c9e77c0012a3b403|filter|failure duplicate lead|Roofing Leads|2024-03-01T16:20:00Z|∅|∅|∅|∅|∅",
		"65e1f0a0c9e77c0012a3b404|source|success|Roofing Leads|2024-03-02T10:00:00Z|jane.doe@gmail|∅|NY|2134|∅",
		"65e1f0a0c9e77c0012a3b405|recipient|error timeout|Roofing Leads|2024-03-02T10:00:02Z|∅|∅|∅|∅|∅",
	)
	if !strings.Contains(logs.String(), "Validation warning for field 'email' with value 'jane.doe@gmail' (Record: id=65e1f0a0c9e77c0012a3b404)") {
		t.Error("no validation warning for the messy lead's e-mail")
	}

	res = srv.round(t, plan, d, logs, 2)
	wantCounts(t, res, map[string]counts{"events": {Processed: 3, Created: 2, Unchanged: 1}})
	wantRows(t, d, `SELECT type, reason, first_name FROM leadconduit_events WHERE start_timestamp > '2024-03-03' ORDER BY id`,
		"feedback|returned: not interested|∅", "source|∅|Ravi")
}
