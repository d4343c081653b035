package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"

	"github.com/crmsync/crmsync/engine/authoring"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/pipeline"
)

func init() {
	register(command{name: "test", args: "FILE|DIR...", summary: "replay a pipeline's saved fixtures offline and compare the output", run: testCmd})
}

// maxDiffs is how many differences test prints per entity.
const maxDiffs = 10

func testCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fixtures := fs.String("fixtures", "", "the fixtures `DIR` (default: beside the pipeline, hubspot.yaml → hubspot.fixtures); only with one FILE")
	update := fs.Bool("update", false, "rewrite each entity's expected.jsonl from the replay instead of comparing")
	profile := fs.String("env", "", "environment profile to apply (environments: in the file)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync test [--fixtures DIR] [--update] [--env PROFILE] FILE|DIR...")
		fmt.Fprintln(fs.Output(), "Replays each entity's recorded HTTP exchanges offline (a local server answers in their place; file sources read")
		fmt.Fprintln(fs.Output(), "their files) and compares the mapped records with <fixtures>/<entity>/expected.jsonl. Record fixtures with")
		fmt.Fprintln(fs.Output(), "crmsync preview --record DIR. Needs no secret and no network. Exit status: 0 passed, 1 any failed, 2 usage error.")
		printFlags(fs.Output(), fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) == 0 {
		fs.Usage()
		return exitUsage
	}
	files, err := pipeline.Expand(pos)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync test:", err)
		return exitUsage
	}
	if *fixtures != "" && len(files) != 1 {
		fmt.Fprintln(stderr, "crmsync test: --fixtures needs exactly one pipeline FILE")
		return exitUsage
	}
	named := map[string]bool{}
	for _, p := range pos {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			named[p] = true
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	replay, err := authoring.StartReplayer()
	if err != nil {
		fmt.Fprintln(stderr, "crmsync test:", err)
		return exitUsage
	}
	defer replay.Close()
	var t testTally
	for _, file := range files {
		dir := *fixtures
		if dir == "" {
			dir = authoring.DefaultFixturesDir(file)
		}
		plan, code := loadOffline(file, *profile, stderr)
		if plan == nil {
			return code
		}
		// A file source's fixtures are its files: --update may start its folder.
		local := slices.ContainsFunc(plan.Entities, authoring.LocalFiles)
		if st, err := os.Stat(dir); (err != nil || !st.IsDir()) && !(*update && local) {
			switch {
			case !named[file]:
				fmt.Fprintf(stdout, "skip  %s: no fixtures folder %s\n", file, dir)
				t.skipped++
			case local:
				fmt.Fprintf(stdout, "FAIL  %s: no fixtures folder %s (write the expected output: crmsync test --update %s)\n", file, dir, file)
				t.failed++
			default:
				fmt.Fprintf(stdout, "FAIL  %s: no fixtures folder %s (record one: crmsync preview --record %s %s)\n", file, dir, dir, file)
				t.failed++
			}
			continue
		}
		for _, e := range plan.Entities {
			testEntity(ctx, stdout, plan, e, dir, replay, *update, &t)
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped)
	if t.failed > 0 {
		return exitFailed
	}
	return exitOK
}

type testTally struct{ passed, failed, skipped int }

// testEntity replays one entity and compares (or, with update, writes)
// its expected output.
func testEntity(ctx context.Context, w io.Writer, plan *pipeline.Plan, e *pipeline.Entity, dir string, replay *authoring.Replayer, update bool, t *testTally) {
	name := plan.Name + " " + e.Name
	expected := filepath.Join(dir, e.Name, authoring.ExpectedFile)
	res, err := authoring.ReplayEntity(ctx, plan, e, dir, replay, authoring.Options{Version: version})
	switch {
	case errors.Is(err, authoring.ErrNotOffline):
		fmt.Fprintf(w, "skip  %s: a %s source cannot be replayed offline\n", name, plan.Source.Type)
		t.skipped++
		return
	case errors.Is(err, authoring.ErrNoFixtures):
		fmt.Fprintf(w, "FAIL  %s: no recorded exchanges in %s (record them: crmsync preview --record %s %s %s)\n",
			name, filepath.Join(dir, e.Name), dir, plan.File, e.Name)
		t.failed++
		return
	case err != nil:
		fmt.Fprintf(w, "FAIL  %s: %s\n", name, plan.Redact(err.Error()))
		t.failed++
		return
	}
	got := res.Lines()
	if update {
		if err := authoring.WriteExpected(expected, got); err != nil {
			fmt.Fprintf(w, "FAIL  %s: %v\n", name, err)
			t.failed++
			return
		}
		fmt.Fprintf(w, "updated %s: %d records → %s\n", name, len(got), expected)
		t.passed++
		return
	}
	want, err := authoring.ReadExpected(expected)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(w, "FAIL  %s: no expected output %s (write it: crmsync test --update %s)\n", name, expected, plan.File)
		t.failed++
		return
	}
	if err != nil {
		fmt.Fprintf(w, "FAIL  %s: %v\n", name, err)
		t.failed++
		return
	}
	if diffs := authoring.Compare(want, got, maxDiffs); len(diffs) > 0 {
		fmt.Fprintf(w, "FAIL  %s: the mapped records differ from %s\n", name, expected)
		for _, d := range diffs {
			fmt.Fprintf(w, "      %s\n", d)
		}
		t.failed++
		return
	}
	var counts []string
	for _, o := range []authoring.Outcome{authoring.OK, authoring.Warned, authoring.Rejected, authoring.Filtered, authoring.Failed, authoring.Unreadable} {
		if n := res.Count(o); n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, o))
		}
	}
	fmt.Fprintf(w, "ok    %s: %d %s as expected (%s)\n", name, len(got), plural(len(got), "record", "records"), strings.Join(counts, ", "))
	t.passed++
}

var unsetEnvRE = regexp.MustCompile(`^environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set`)

// loadOffline loads a pipeline for a replay, which needs no secret: an
// unset ${env:…} variable without a default gets a placeholder (a URL
// for names that look like one), so the file compiles in CI.
func loadOffline(file, profile string, stderr io.Writer) (*pipeline.Plan, int) {
	unset := map[string]bool{}
	plan, findings := pipeline.LoadFile(file, pipeline.Options{Profile: profile})
	for _, f := range findings {
		if m := unsetEnvRE.FindStringSubmatch(f.Message); f.Code == "env-unset" && m != nil {
			unset[m[1]] = true
		}
	}
	if len(unset) > 0 {
		lookup := func(name string) (string, bool) {
			if unset[name] {
				return placeholder(name), true
			}
			return os.LookupEnv(name)
		}
		plan, findings = pipeline.LoadFile(file, pipeline.Options{Profile: profile, LookupEnv: lookup})
	}
	if findings.HasErrors() {
		findings.WriteText(stderr)
		fmt.Fprintf(stderr, "crmsync test: %s has problems (run crmsync lint %s)\n", file, file)
		return nil, exitUsage
	}
	for _, f := range findings {
		if f.Code != "env-unset" && f.Severity == diag.Warning {
			fmt.Fprintln(stderr, f.String())
		}
	}
	return plan, exitOK
}

func placeholder(name string) string {
	n := strings.ToUpper(name)
	if strings.Contains(n, "URL") || strings.Contains(n, "HOST") || strings.Contains(n, "ENDPOINT") {
		return "http://crmsync-test.invalid"
	}
	return "crmsync-test-placeholder"
}
