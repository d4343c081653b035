package pipelines_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestArrivy runs pipelines/arrivy.yaml against recorded answers: bare
// arrays paged to an empty page, both auth headers, updated_after
// increments, task statuses per task, and tasks gone from Arrivy.
func TestArrivy(t *testing.T) {
	const key, token = "b532cd42-9650", "9M7vYsodaayx15a1LjXf9C"
	srv := newFixtures(t, "arrivy", func(r *http.Request) error {
		if err := wantHeader("X-Auth-Key", key)(r); err != nil {
			return err
		}
		return wantHeader("X-Auth-Token", token)(r)
	})
	plan := loadPlan(t, "arrivy", map[string]string{
		"ARRIVY_AUTH_KEY":   key,
		"ARRIVY_AUTH_TOKEN": token,
		"ARRIVY_RATE_LIMIT": "1000", // the <PIPELINE>_RATE_LIMIT override; the file's 2/s would slow the test
	})
	d := openDest(t)
	logs := &logBuffer{}

	res := srv.round(t, plan, d, logs, 1)
	wantCounts(t, res, map[string]counts{
		"entities":      {Processed: 4, Created: 4},
		"groups":        {Processed: 2, Created: 2},
		"tasks":         {Processed: 3, Created: 3},
		"bookings":      {Processed: 2, Created: 2},
		"task_statuses": {Processed: 5, Created: 5},
	})
	d.wantTypes(t, "arrivy_tasks", map[string]string{
		"id": "bigint", "start_datetime": "timestamp with time zone", "entity_ids": "ARRAY", "customer_lat": "double precision",
		"extra_fields": "jsonb", "unscheduled": "boolean",
	})
	wantRows(t, d, `SELECT id, start_datetime, entity_ids::text, customer_name, customer_mobile_number, customer_state, customer_zipcode, customer_lat, extra_fields->>'genius_job_id' FROM arrivy_tasks ORDER BY id`,
		"5666668701286400|2024-03-04T15:00:00Z|{5348024557502464,5348024557502465}|Maria Gonzalez|+13035550142|CO|80202|39.7475|J-1001",
		"5666668701286401|2024-03-05T16:00:00Z|{5348024557502466}|Tom Baker|+15125550177|TX|78701|30.2672|J-1001",
		// Arrivy's own sample: entity ids as one string, a state by name, a ZIP and a
		// mobile number as JSON numbers (the number is not a possible US phone: NULL).
		"5666668701286402|2024-03-06T17:00:00Z|{5348024557502464,033534889455750984}|John Doe|∅|WA|98011|47.74659|J-1001",
	)
	wantRows(t, d, `SELECT id, task_id, type, time, notes FROM arrivy_task_statuses ORDER BY id`,
		"6473924464345088|5666668701286400|ENROUTE|2024-03-04T14:40:00Z|On my way",
		"6473924464345089|5666668701286400|STARTED|2024-03-04T15:02:00Z|",
		"6473924464345090|5666668701286400|COMPLETE|2024-03-04T16:58:00Z|Roof OK, 2 shingles replaced",
		"6473924464345091|5666668701286401|ENROUTE|2024-03-05T15:30:07Z|", // one-digit seconds read by the field's layout
		"6473924464345092|5666668701286401|ARRIVED|2024-03-05T15:58:00Z|",
	)
	wantRows(t, d, `SELECT id, email, skill_ids::text, is_active, extra_fields::text FROM arrivy_entities ORDER BY id`,
		"5348024557502464|carlos.ruiz@example.com|{101,102}|true|∅",
		"5348024557502465|crew lead@example.com|{}|true|{\"crew_size\": 3}",
		"5348024557502466|dana.white@example.com|{103}|true|∅",
		"5348024557502467|∅|∅|false|∅",
	)
	for _, msg := range []string{
		"Validation warning for field 'type' with value 'ARRIVED' (Record: id=6473924464345092)",
		"Validation warning for field 'email' with value 'crew lead@example.com'",
		"Validation warning for field 'customer_zipcode' with value '8020' (Record: id=4785074604081153)",
	} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("the log lacks %q", msg)
		}
	}
	wantRows(t, d, `SELECT id, state FROM arrivy_groups ORDER BY id`, "6192449487634432|CO", "6192449487634433|TX")

	res = srv.round(t, plan, d, logs, 2)
	wantCounts(t, res, map[string]counts{
		"entities":      {Processed: 3, Unchanged: 3},
		"groups":        {Processed: 1, Updated: 1},
		"tasks":         {Processed: 2, Updated: 1, Unchanged: 1},
		"bookings":      {Processed: 1, Created: 1},
		"task_statuses": {Processed: 6, Created: 1, Unchanged: 5},
	})
	// Gone from a complete read: marked, not deleted.
	wantRows(t, d, `SELECT id, _deleted_at IS NOT NULL FROM arrivy_entities ORDER BY id`,
		"5348024557502464|false", "5348024557502465|false", "5348024557502466|false", "5348024557502467|true")
	wantRows(t, d, `SELECT id, status, _deleted_at IS NOT NULL FROM arrivy_tasks ORDER BY id`,
		"5666668701286400|COMPLETE|false", "5666668701286401|COMPLETE|false", "5666668701286402|NOTSTARTED|true")
	wantRows(t, d, `SELECT phone FROM arrivy_groups WHERE id = 6192449487634433`, "+15125550199")
}
