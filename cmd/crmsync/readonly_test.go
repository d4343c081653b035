package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadCommandsCreateNothing: history and rejects where no database
// is (the repository root after make demo) create no crmsync.db, exit 2,
// say which file they looked for and where the demo's database is.
func TestReadCommandsCreateNothing(t *testing.T) {
	leads, err := filepath.Abs("../../examples/quickstart/leads.yaml")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	t.Chdir(root)
	t.Setenv("CRMSYNC_DEST", "")
	os.MkdirAll(filepath.Join("examples", "quickstart"), 0o755)
	demo := filepath.Join("examples", "quickstart", "crmsync.db")
	var out, errb bytes.Buffer
	if code := run([]string{"run", "--quiet", "--dest", "sqlite:" + demo, leads}, &out, &errb); code != exitPartial {
		t.Fatalf("run: exit %d: %s", code, errb.String())
	}
	for _, verb := range []string{"history", "rejects"} {
		out.Reset()
		errb.Reset()
		if code := run([]string{verb}, &out, &errb); code != exitUsage {
			t.Errorf("%s: exit %d, want 2", verb, code)
		}
		for _, want := range []string{
			"crmsync " + verb + ": no database at crmsync.db (looked for " + filepath.Join(root, "crmsync.db") + ")",
			"the quick-start demo's database is " + demo + ": crmsync " + verb + " --dest sqlite:" + demo,
		} {
			if !strings.Contains(errb.String(), want) {
				t.Errorf("%s: stderr lacks %q:\n%s", verb, want, errb.String())
			}
		}
		if out.Len() != 0 {
			t.Errorf("%s: printed %q", verb, out.String())
		}
		if _, err := os.Stat("crmsync.db"); err == nil {
			t.Fatalf("%s created crmsync.db", verb)
		}
		// A named file that is missing: the same, never created.
		other := filepath.Join(t.TempDir(), "x.db")
		errb.Reset()
		if code := run([]string{verb, "--dest", "sqlite:" + other}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "no database at "+other) {
			t.Errorf("%s --dest missing: exit %d: %s", verb, code, errb.String())
		}
		if _, err := os.Stat(other); err == nil {
			t.Errorf("%s created %s", verb, other)
		}
		// The demo's database reads.
		out.Reset()
		errb.Reset()
		if code := run([]string{verb, "--dest", "sqlite:" + demo}, &out, &errb); code != exitOK || out.Len() == 0 {
			t.Errorf("%s --dest demo: exit %d, stdout %q, stderr %s", verb, code, out.String(), errb.String())
		}
	}
}
