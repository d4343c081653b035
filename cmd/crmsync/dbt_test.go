package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDbtSources: the sources.yml for a pipeline with a child table, a
// composite key, keep_raw, soft deletes and a weekday cron schedule, for
// each destination (golden files; -update rewrites them).
func TestDbtSources(t *testing.T) {
	for _, tc := range []struct{ name, dest string }{
		{"postgres", "postgres://u@db.example:5432/warehouse?sslmode=disable&schema=crm_raw"},
		{"sqlite", "sqlite:warehouse.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := auRun("dbt", "sources", "--dest", tc.dest, "testdata/dbt/crm.yaml")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			golden := filepath.Join("testdata", "dbt", "sources_"+tc.name+".golden")
			if auUpdate() {
				os.WriteFile(golden, []byte(out), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("dbt sources differs from %s (go test -run TestDbtSources -update):\n%s", golden, out)
			}
			// What dbt reads: version 2, the schema from the DSN, every table.
			var doc dbtFile
			if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Version != 2 || len(doc.Sources) != 1 || len(doc.Sources[0].Tables) != 3 {
				t.Fatalf("want version 2, one source, three tables: %+v", doc)
			}
		})
	}
}

// TestDbtSourcesOut: --out writes the file (folders made); a file that
// does not compile names itself and writes nothing.
func TestDbtSourcesOut(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "models", "staging", "crmsync_sources.yml")
	if code, _, errs := auRun("dbt", "sources", "--dest", "sqlite:x.db", "--out", out, "testdata/dbt"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "name: crm_deals") {
		t.Fatalf("--out wrote %q, %v", b, err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nname: bad\nsource: {type: http, base_url: http://x}\nentities:\n  e:\n    primary_key: id\n    fields: {id: {path: id, type: integr}}\n"), 0o644)
	out2 := filepath.Join(dir, "none.yml")
	code, _, errs := auRun("dbt", "sources", "--out", out2, bad)
	if code != exitFailed || !strings.Contains(errs, "bad.yaml:7") {
		t.Errorf("a broken file: exit %d, %q; want 1 and the file:line", code, errs)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Errorf("a broken file still wrote %s", out2)
	}
	if code, _, _ := auRun("dbt", "models", "x.yaml"); code != exitUsage {
		t.Errorf("dbt models: exit %d, want usage", code)
	}
}

func TestFreshnessOf(t *testing.T) {
	for _, tc := range []struct {
		spec       string
		warn, fail dbtPeriod
	}{
		{"every 15m", dbtPeriod{30, "minute"}, dbtPeriod{1, "hour"}},
		{"every 1h", dbtPeriod{2, "hour"}, dbtPeriod{4, "hour"}},
		{"every 7m30s", dbtPeriod{15, "minute"}, dbtPeriod{30, "minute"}},
		{"0 6 * * *", dbtPeriod{2, "day"}, dbtPeriod{4, "day"}},
		// Weekdays only: the weekend (Friday 18:00 to Monday 06:00) is the longest gap.
		{"0 6-18 * * 1-5", dbtPeriod{5, "day"}, dbtPeriod{10, "day"}},
	} {
		f, err := freshnessOf(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if f.WarnAfter != tc.warn || f.ErrorAfter != tc.fail {
			t.Errorf("%s: warn %v error %v, want %v %v", tc.spec, f.WarnAfter, f.ErrorAfter, tc.warn, tc.fail)
		}
	}
}
