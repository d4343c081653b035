package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// auCopyDir copies testdata/<name> into a new temporary folder.
func auCopyDir(t *testing.T, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join(auTestdata, name)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestTestRounds: testdata/rounds/shop.fixtures holds two rounds of
// orders; round 2 was recorded asking for the orders changed since round
// 1's newest updated_at, so it passes only when crmsync test carries the
// checkpoint from one round to the next. The fixtures' env file gives
// SHOP_REGION, over the environment.
func TestTestRounds(t *testing.T) {
	t.Setenv("SHOP_REGION", "us") // the env file wins: the fixtures were recorded with eu
	cases := []struct {
		name string
		edit func(t *testing.T, dir string)
		code int
		want []string
	}{
		{"pass", nil, exitOK, []string{
			"ok    shop orders round 1: 2 records as expected (2 ok)",
			"ok    shop orders round 2: 2 records as expected (2 ok)",
			"2 passed, 0 failed, 0 skipped"}},
		{"round 2 recorded from another watermark", func(t *testing.T, dir string) {
			auEdit(t, filepath.Join(dir, "shop.fixtures/orders/round-2/001.request.json"), "since=2024-02-03T09%3A30%3A00Z", "since=2024-02-01T10%3A00%3A00Z")
		}, exitFailed, []string{
			"ok    shop orders round 1",
			`FAIL  shop orders round 2: request 1 (GET /orders) does not match fixture 001.request.json: query parameter since: recorded "2024-02-01T10:00:00Z", now "2024-02-03T09:30:00Z"`,
			"1 passed, 1 failed, 0 skipped"}},
		{"round 1 fails, round 2 is skipped", func(t *testing.T, dir string) {
			auEdit(t, filepath.Join(dir, "shop.fixtures/orders/round-1/expected.jsonl"), `"total":10.50`, `"total":10.25`)
		}, exitFailed, []string{
			"FAIL  shop orders round 1: the mapped records differ from " + filepath.Join("shop.fixtures", "orders", "round-1", "expected.jsonl"),
			"record 1 (id 1): field total: expected 10.25, got 10.50",
			"skip  shop orders round 2: round 1 failed, and this round starts from its state",
			"0 passed, 1 failed, 1 skipped"}},
		{"a gap between rounds", func(t *testing.T, dir string) {
			if err := os.Rename(filepath.Join(dir, "shop.fixtures/orders/round-2"), filepath.Join(dir, "shop.fixtures/orders/round-3")); err != nil {
				t.Fatal(err)
			}
		}, exitFailed, []string{"FAIL  shop orders: fixtures " + filepath.Join("shop.fixtures", "orders") + ": round-2 is missing"}},
		{"the env file's value changed", func(t *testing.T, dir string) {
			auEdit(t, filepath.Join(dir, "shop.fixtures/env"), "SHOP_REGION=eu", "SHOP_REGION=ap")
		}, exitFailed, []string{`FAIL  shop orders round 1: request 1 (GET /orders) does not match fixture 001.request.json: query parameter region: recorded "eu", now "ap"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := auCopyDir(t, "rounds")
			if c.edit != nil {
				c.edit(t, dir)
			}
			t.Chdir(dir)
			code, out, errOut := auRun("test", "shop.yaml")
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestTestUpdateRounds: --update replays the rounds in order and rewrites
// each round's expected output.
func TestTestUpdateRounds(t *testing.T) {
	dir := auCopyDir(t, "rounds")
	t.Chdir(dir)
	want := map[string][]byte{}
	for _, r := range []string{"round-1", "round-2"} {
		p := filepath.Join("shop.fixtures", "orders", r, "expected.jsonl")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		want[p] = b
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := auRun("test", "--update", "shop.yaml")
	if code != exitOK || !strings.Contains(out, "updated shop orders round 2: 2 records → "+filepath.Join("shop.fixtures", "orders", "round-2", "expected.jsonl")) {
		t.Fatalf("test --update: exit %d\n%s%s", code, out, errOut)
	}
	for p, b := range want {
		got, err := os.ReadFile(p)
		if err != nil || string(got) != string(b) {
			t.Errorf("%s after --update:\n%s\nwant:\n%s", p, got, b)
		}
	}
	// --json names each round.
	code, out, _ = auRun("test", "--json", "shop.yaml")
	if code != exitOK || !strings.Contains(out, `"round": 2,`) {
		t.Errorf("test --json: exit %d\n%s", code, out)
	}
}

func auEdit(t *testing.T, path, from, to string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), from, to, 1)
	if s == string(b) {
		t.Fatalf("%q is not in %s", from, path)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestShippedPipelineFixtures runs crmsync test over pipelines/: every
// shipped HTTP and file pipeline replays its fixtures (round by round)
// and maps what they expect. The pipelines without fixtures are exactly
// those that cannot be replayed: SQL sources (genius, salespro), the
// github source (zipcodes) and google_sheets, whose jwt auth needs a
// private key file (their Go tests in pipelines/ cover them).
func TestShippedPipelineFixtures(t *testing.T) {
	dir := filepath.Join(auRoot, "pipelines")
	code, out, errOut := auRun("test", dir)
	if code != exitOK {
		t.Fatalf("crmsync test pipelines/: exit %d\n%s%s", code, out, errOut)
	}
	var skipped []string
	for _, l := range strings.Split(out, "\n") {
		if f, ok := strings.CutPrefix(l, "skip  "); ok {
			f, _, _ = strings.Cut(f, ":")
			skipped = append(skipped, strings.TrimSuffix(filepath.Base(f), ".yaml"))
		}
	}
	if got, want := strings.Join(skipped, " "), "genius google_sheets salespro zipcodes"; got != want {
		t.Errorf("skipped %q, want %q:\n%s", got, want, out)
	}
	for _, want := range []string{"ok    hubspot deals round 2", "ok    leads_csv leads round 2", "ok    five9 contacts round 2", "ok    salespro_athena estimate round 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
