package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunHistoryRejects: run the quick-start leads pipeline through the
// command line into a SQLite file, then read it back with history and
// rejects, as a user would.
func TestRunHistoryRejects(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "x.db")
	var out, errb bytes.Buffer
	code := run([]string{"run", "--dest", dsn, "--log-format", "json", "../../examples/quickstart/leads.yaml"}, &out, &errb)
	if code != exitPartial {
		t.Fatalf("run exit %d, want %d (partial: two rejected rows)\n%s\n%s", code, exitPartial, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "quickstart   leads  partial") || !strings.Contains(errb.String(), `"msg":"Completed quickstart leads sync: 5 created, 0 updated, 2 failed"`) {
		t.Fatalf("summary or completion line missing:\n%s\n%s", out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"history", "--dest", dsn, "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("history exit %d: %s", code, errb.String())
	}
	var hist []map[string]any
	if err := json.Unmarshal(out.Bytes(), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0]["status"] != "partial" || hist[0]["created"] != float64(5) || hist[0]["rejected"] != float64(2) {
		t.Fatalf("history: %v", hist)
	}
	if _, ok := hist[0]["duration_seconds"]; !ok {
		t.Fatalf("history JSON lacks duration_seconds: %v", hist[0])
	}
	out.Reset()
	run([]string{"rejects", "--dest", dsn, "--pipeline", "quickstart"}, &out, &errb)
	if !strings.Contains(out.String(), "field email: value 'chen.wei@example': Invalid email format") ||
		!strings.Contains(out.String(), "row has 3 fields, the header has 10") {
		t.Fatalf("rejects:\n%s", out.String())
	}
	// A second run: the unchanged file is skipped, nothing is written.
	out.Reset()
	if code := run([]string{"run", "--dest", dsn, "--quiet", "../../examples/quickstart/leads.yaml"}, &out, &errb); code != exitOK {
		t.Fatalf("second run exit %d", code)
	}
	// --dry-run writes nothing, not even history.
	if code := run([]string{"run", "--dry-run", "--full", "--quiet", "--dest", dsn, "../../examples/quickstart/leads.yaml"}, &out, &errb); code != exitPartial {
		t.Fatalf("dry run exit %d", code)
	}
	out.Reset()
	run([]string{"history", "--dest", dsn, "--json"}, &out, &errb)
	json.Unmarshal(out.Bytes(), &hist)
	if len(hist) != 2 {
		t.Fatalf("want 2 history rows after a dry run, got %d", len(hist))
	}
}

// TestRunUsageErrors: bad command lines exit 2 with a clear message.
func TestRunUsageErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nname: x\nentites: {}\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "Usage: crmsync run"},
		{[]string{"run", "--start-date", "yesterday", bad}, `--start-date "yesterday"`},
		{[]string{"run", "--dest", "sqlite:" + filepath.Join(t.TempDir(), "x.db"), bad}, `unknown key "entites"`},
		{[]string{"run", "--entity", "nope", "../../examples/quickstart/leads.yaml"}, `no pipeline has an entity "nope"`},
		{[]string{"run", "--dest", "mysql://x", "../../examples/quickstart/leads.yaml"}, `destination scheme "mysql" is not supported`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, errb.String())
		}
	}
}
