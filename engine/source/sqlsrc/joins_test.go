package sqlsrc

import (
	"fmt"
	"testing"
)

func TestJoinedColumns(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{"SELECT p.id, p.updated_at, tps.third_party_id AS hubspot_contact_id FROM prospect p LEFT JOIN third_party_source tps ON tps.id = p.tps_id",
			"[{hubspot_contact_id [tps] [third_party_source]}]"},
		// Plain qualified columns keep their name; CASE over two joined tables names both.
		{"SELECT u.user_id, ua.primary_user_id, CASE WHEN t.id IS NOT NULL THEN s.x END AS sx FROM user_data AS u JOIN users_userassociations ua USING (id) LEFT JOIN a t ON t.id = u.a LEFT JOIN b s ON s.id = t.b",
			"[{primary_user_id [ua] [users_userassociations]} {sx [t s] [a b]}]"},
		// A subquery in a join condition, a comment and a string with a dot are no joined column.
		{"SELECT p.id, p.name -- q.x AS y\n, 'a.b' AS lit FROM prospect p LEFT JOIN tps ON tps.id = p.t AND tps.type_id IN (SELECT id FROM types WHERE label = 'h.s')",
			"[]"},
		// No join: nothing.
		{"SELECT id, updated_at FROM prospect", "[]"},
		// Backticked names.
		{"SELECT `p`.`id`, `j`.`v` FROM `prospect` `p` JOIN `joined` `j` ON `j`.`id` = `p`.`j`",
			"[{v [j] [joined]}]"},
	} {
		got := fmt.Sprint(joinedColumns(c.query))
		if got == "[]" {
			got = fmt.Sprint([]joinedColumn{})
		}
		if got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.query, got, c.want)
		}
	}
}

// TestMySQLBinding: keyset values are bound by the driver on the client
// unless the DSN says interpolateParams=false or names an unsafe charset.
func TestMySQLBinding(t *testing.T) {
	for _, c := range []struct {
		params string
		want   bool
	}{{"", false}, {"?interpolateParams=false", false}, {"?interpolateParams=true", true}, {"?interpolateParams=true&charset=sjis", false}} {
		conn, _, _, err := connectMySQL(t.Context(), myDSN()+c.params)
		if err != nil {
			t.Fatalf("%s: %v", c.params, err)
		}
		if got := conn.(*myConn).interpolate; got != c.want {
			t.Errorf("DSN %q: interpolate %v, want %v", c.params, got, c.want)
		}
		conn.close()
	}
}
