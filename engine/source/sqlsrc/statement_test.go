package sqlsrc

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestStatements writes every statement shape of a few entities for both
// drivers into testdata/statements.golden: the SQL that reaches the
// database, with its parameters in bind order.
func TestStatements(t *testing.T) {
	entities := []struct{ name, yaml string }{
		{"table, incremental on an expression, composite key", `
from: genius.appointment_to_service
columns: [appointment_id, service_id, updated_at]
where: "deleted = 0"
primary_key: [appointment_id, service_id]
incremental: {field: changed_at, column: "COALESCE(updated_at, created_at)"}
`},
		{"query with a placeholder, incremental", `
query: |-
  SELECT p.id, p.updated_at, tps.third_party_id AS hubspot_contact_id, tps.updated_at AS tps_updated_at -- :not_a_placeholder
  FROM prospect p LEFT JOIN third_party_source tps ON tps.id = p.third_party_source_id
  WHERE (p.updated_at >= :watermark OR :watermark IS NULL) AND p.notes <> ':x' -- last line
primary_key: [id]
incremental: {field: updated_at, joined: [tps_updated_at]}
`},
		{"table, incremental with a fallback column", `
from: prospect_source
primary_key: [id]
incremental: {field: updated_at, fallback: add_date, lookback: 5m}
`},
		{"lookup table, full refresh", `
from: appointment_type
primary_key: [id]
full_refresh: true
`},
		{"unkeyed query", `
query: "SELECT * FROM zips;"
`},
	}
	shapes := []shape{
		{phase: phaseAll},
		{phase: phaseKey}, {phase: phaseKey, cursor: true},
		{phase: phaseExtra}, {phase: phaseExtra, cursor: true}, {phase: phaseExtra, wm: true, cursor: true},
		{phase: phaseExtra + 1, wm: true, cursor: true},
		{phase: phaseValue}, {phase: phaseValue, cursor: true},
		{phase: phaseValue, wm: true, cursor: true},
		{phase: phaseValue, wm: true, start: true, end: true},
		{count: true, wm: true},
	}
	var b strings.Builder
	for _, driver := range []string{"postgres", "mysql"} {
		for _, e := range entities {
			op, probs := compileYAML(t, driver, "postgres://u@h/db", e.yaml, opts{batch: 1000})
			if driver == "mysql" {
				op, probs = compileYAML(t, driver, "u@tcp(h:3306)/db", e.yaml, opts{batch: 1000})
			}
			if op == nil {
				t.Fatalf("%s %s: %v", driver, e.name, probs)
			}
			s := op.(*opener).stmts
			fmt.Fprintf(&b, "## %s: %s\n", driver, e.name)
			for _, sh := range shapes {
				if !fits(s, sh) {
					continue
				}
				sql, names := s.d.render(s.build(sh))
				fmt.Fprintf(&b, "%s\n  %s\n  params: %v\n", sh, sql, names)
			}
			b.WriteString("\n")
		}
	}
	golden(t, "testdata/statements.golden", b.String())
}

// fits says whether a shape occurs in a mode.
func fits(s *statements, sh shape) bool {
	m := s.mode
	if sh.count {
		return m == modeInc
	}
	switch m {
	case modeStream:
		return sh.phase == phaseAll
	case modeKey:
		return sh.phase == phaseKey
	}
	return sh.phase == phaseKey || sh.phase == phaseValue || (sh.phase >= phaseExtra && int(sh.phase-phaseExtra) < len(s.extra))
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s", path, got)
	}
}
