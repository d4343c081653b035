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

// TestLintCommand: exit codes, text and JSON output, flags after files.
func TestLintCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"lint", "../../examples/quickstart/leads.yaml"}, &out, &errb); code != exitOK || out.Len() != 0 {
		t.Fatalf("clean file: exit %d, output %q", code, out.String())
	}
	code := run([]string{"lint", "../../engine/pipeline/testdata/lint/many_problems.yaml", "--format", "json"}, &out, &errb)
	if code != exitFailed {
		t.Fatalf("broken file: exit %d, want %d", code, exitFailed)
	}
	var findings []struct {
		File, Severity, Code, Message string
		Line, Column                  int
	}
	if err := json.Unmarshal(out.Bytes(), &findings); err != nil || len(findings) != 4 {
		t.Fatalf("json output (%v): %s", err, out.String())
	}
	if f := findings[1]; f.Code != "unknown-key" || f.Line != 14 || f.Column != 5 || f.Severity != "error" {
		t.Fatalf("second finding: %+v", f)
	}
	out.Reset()
	// A warning alone passes, unless --strict.
	warn := "../../engine/pipeline/testdata/lint/literal_secret.yaml"
	if code := run([]string{"lint", warn}, &out, &errb); code != exitOK {
		t.Fatalf("warning only: exit %d", code)
	}
	if code := run([]string{"lint", "--strict", warn}, &out, &errb); code != exitFailed {
		t.Fatalf("--strict with a warning: exit %d", code)
	}
	if code := run([]string{"lint", "no/such/file.yaml"}, &out, &errb); code != exitUsage {
		t.Fatalf("missing file: exit %d", code)
	}
}
