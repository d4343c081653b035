package validate

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows[1:]
}

func TestStatesFile(t *testing.T) {
	rows := readCSV(t, "testdata/us-geo/us-states.csv")
	if len(rows) != 51 {
		t.Fatalf("%d states, want 50 and DC", len(rows))
	}
	v := mustBuild(t, "state", nil)
	for _, r := range rows {
		code, name := r[0], r[1]
		for _, in := range []string{code, strings.ToLower(code), name, strings.ToUpper(name), strings.ToLower(name), "  " + name + "\t"} {
			got, err := v.Validate(in)
			if err != nil || got != code {
				t.Errorf("Validate(%q) = %v, %v; want %q", in, got, err, code)
			}
		}
	}
}

func TestZipCodesFile(t *testing.T) {
	rows := readCSV(t, "testdata/us-geo/us-zipcodes.code-city-state.csv")
	if len(rows) < 40000 {
		t.Fatalf("only %d ZIP codes", len(rows))
	}
	zip := mustBuild(t, "zip_code", nil)
	state := mustBuild(t, "state", nil)
	for _, r := range rows {
		if got, err := zip.Validate(r[0]); err != nil || got != r[0] {
			t.Errorf("zip_code: Validate(%q) = %v, %v", r[0], got, err)
		}
		if got, err := zip.Validate(r[0] + "-0001"); err != nil || got != r[0]+"-0001" {
			t.Errorf("zip_code: Validate(%q) = %v, %v", r[0]+"-0001", got, err)
		}
		// Every ZIP's state is a state, DC, a territory or a military code.
		if got, err := state.Validate(r[2]); err != nil || got != r[2] {
			t.Errorf("state: Validate(%q) for ZIP %s = %v, %v", r[2], r[0], got, err)
		}
		// Its leading zero dropped (a spreadsheet's doing), it is no ZIP.
		if strings.HasPrefix(r[0], "0") {
			if _, err := zip.Validate(strings.TrimLeft(r[0], "0")); err == nil {
				t.Errorf("zip_code: accepted %q", strings.TrimLeft(r[0], "0"))
			}
		}
	}
}
