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
	"time"

	"github.com/crmsync/crmsync/engine/authoring"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/sink/memory"
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
	update := fs.Bool("update", false, "rewrite each entity's (each round's) expected.jsonl from the replay instead of comparing")
	profile := fs.String("env", "", "environment profile to apply (environments: in the file)")
	asJSON := fs.Bool("json", false, "print one JSON document: every entity's status, record counts and differences")
	junit := fs.String("junit", "", "also write a JUnit XML report to `FILE` (one testcase per entity) for CI")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync test [--fixtures DIR] [--update] [--env PROFILE] [--json] [--junit FILE] FILE|DIR...")
		fmt.Fprintln(fs.Output(), "Replays each entity's recorded HTTP exchanges offline (a local server answers in their place; file sources read")
		fmt.Fprintln(fs.Output(), "their files) and compares the mapped records with <fixtures>/<entity>/expected.jsonl. Record fixtures with")
		fmt.Fprintln(fs.Output(), "crmsync preview --record DIR. An entity's round-N/ folders are replayed in order, each an incremental sync from the")
		fmt.Fprintln(fs.Output(), "state the round before left; <fixtures>/env gives ${env:…} values. Needs no secret and no network.")
		fmt.Fprintln(fs.Output(), "Exit status: 0 passed, 1 any failed, 2 usage error.")
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
	t := testReport{w: stdout, text: !*asJSON}
	for _, file := range files {
		dir := *fixtures
		if dir == "" {
			dir = authoring.DefaultFixturesDir(file)
		}
		if st, err := os.Stat(dir); (err != nil || !st.IsDir()) && !named[file] {
			// A folder's pipeline without fixtures is skipped unloaded: a
			// SQL source's placeholder DSN need not compile.
			t.add(testCase{File: file, name: file, Status: testSkipped, Message: "no fixtures folder " + dir})
			continue
		}
		env, err := authoring.ReadEnv(filepath.Join(dir, authoring.EnvFile))
		if err != nil {
			fmt.Fprintln(stderr, "crmsync test:", err)
			return exitUsage
		}
		plan, code := loadOffline(file, *profile, env, stderr)
		if plan == nil {
			return code
		}
		// A file source's fixtures are its files: --update may start its folder.
		local := slices.ContainsFunc(plan.Entities, authoring.LocalFiles)
		if st, err := os.Stat(dir); (err != nil || !st.IsDir()) && !(*update && local) {
			c := testCase{Pipeline: plan.Name, File: file, name: file}
			switch {
			case local:
				c.Status, c.Message = testFailed, fmt.Sprintf("no fixtures folder %s (write the expected output: crmsync test --update %s)", dir, file)
			default:
				c.Status, c.Message = testFailed, fmt.Sprintf("no fixtures folder %s (record one: crmsync preview --record %s %s)", dir, dir, file)
			}
			t.add(c)
			continue
		}
		for _, e := range plan.Entities {
			for _, c := range testRounds(ctx, plan, e, dir, *profile, replay, *update, stderr) {
				t.add(c)
			}
		}
	}
	if t.text {
		fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", t.Passed, t.Failed, t.Skipped)
	} else {
		writeJSON(stdout, &t)
	}
	if *junit != "" {
		if err := writeJUnit(*junit, t.Cases); err != nil {
			fmt.Fprintln(stderr, "crmsync test:", err)
			return exitUsage
		}
	}
	if t.Failed > 0 {
		return exitFailed
	}
	return exitOK
}

// Test outcomes, as --json and the text output name them.
const (
	testPassed  = "passed"
	testUpdated = "updated"
	testFailed  = "failed"
	testSkipped = "skipped"
)

// testCase is one entity's replay (or a whole file skipped or failed
// before any entity, with no Entity).
type testCase struct {
	Pipeline string         `json:"pipeline"`
	Entity   string         `json:"entity,omitempty"`
	Round    int            `json:"round,omitempty"` // of an entity whose fixtures hold rounds
	File     string         `json:"file"`
	Status   string         `json:"status"`
	Message  string         `json:"message"`
	Details  []string       `json:"details,omitempty"`
	Records  int            `json:"records"`
	Outcomes map[string]int `json:"outcomes,omitempty"`
	Seconds  float64        `json:"seconds"`
	name     string         // "pipeline entity", or the file
}

// testReport tallies the cases, printing each as it comes in text mode.
type testReport struct {
	Passed  int        `json:"passed"`
	Failed  int        `json:"failed"`
	Skipped int        `json:"skipped"`
	Cases   []testCase `json:"cases"`
	w       io.Writer
	text    bool
}

func (t *testReport) add(c testCase) {
	if c.Details == nil {
		c.Details = []string{}
	}
	t.Cases = append(t.Cases, c)
	switch c.Status {
	case testPassed, testUpdated:
		t.Passed++
	case testFailed:
		t.Failed++
	case testSkipped:
		t.Skipped++
	}
	if !t.text {
		return
	}
	label := map[string]string{testPassed: "ok    ", testUpdated: "updated ", testFailed: "FAIL  ", testSkipped: "skip  "}[c.Status]
	fmt.Fprintf(t.w, "%s%s: %s\n", label, c.name, c.Message)
	for _, d := range c.Details {
		fmt.Fprintf(t.w, "      %s\n", d)
	}
}

// testRounds replays the rounds of one entity in order, each from the
// state the one before left in the same in-memory destination (round 1:
// a first sync), and compares (or, with update, writes) each round's
// expected output. After a failed round the later ones are skipped: they
// would start from the wrong state.
func testRounds(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, dir, profile string, replay *authoring.Replayer, update bool, stderr io.Writer) []testCase {
	start := time.Now()
	rounds, err := authoring.Rounds(filepath.Join(dir, e.Name))
	if err != nil {
		c := testCase{Pipeline: plan.Name, Entity: e.Name, File: plan.File, name: plan.Name + " " + e.Name, Status: testFailed, Message: err.Error()}
		return []testCase{c}
	}
	dest := memory.New()
	if err := authoring.SeedState(dest, plan, e, dir); err != nil {
		return []testCase{{Pipeline: plan.Name, Entity: e.Name, File: plan.File, name: plan.Name + " " + e.Name, Status: testFailed, Message: err.Error()}}
	}
	var out []testCase
	failed := 0 // the round that failed
	for _, r := range rounds {
		start := start
		if r.N > 1 {
			start = time.Now()
		}
		c := testCase{Pipeline: plan.Name, Entity: e.Name, File: plan.File, name: plan.Name + " " + e.Name}
		if len(rounds) > 1 {
			c.Round = r.N
			c.name = fmt.Sprintf("%s %s round %d", plan.Name, e.Name, r.N)
		}
		if failed > 0 {
			c.Status, c.Message = testSkipped, fmt.Sprintf("round %d failed, and this round starts from its state", failed)
			out = append(out, c)
			continue
		}
		rp, re, err := roundPlan(plan, e, dir, r, profile, stderr)
		if err != nil {
			c.Status, c.Message = testFailed, err.Error()
		} else {
			c = testRound(ctx, c, rp, re, dir, r, replay, dest, update)
		}
		c.Seconds = time.Since(start).Seconds()
		if c.Status == testFailed {
			failed = r.N
		}
		out = append(out, c)
	}
	return out
}

// roundPlan is the plan a round replays: the file's, or, when the round
// folder has an env file of its own, the file loaded again with it.
func roundPlan(plan *pipeline.Plan, e *pipeline.Entity, dir string, r authoring.Round, profile string, stderr io.Writer) (*pipeline.Plan, *pipeline.Entity, error) {
	own, err := authoring.ReadEnv(filepath.Join(r.Dir, authoring.EnvFile))
	if err != nil || len(own) == 0 {
		return plan, e, err
	}
	env, err := authoring.RoundEnv(dir, r)
	if err != nil {
		return nil, nil, err
	}
	var msgs strings.Builder
	p, _ := loadOffline(plan.File, profile, env, &msgs)
	if p == nil || p.Entity(e.Name) == nil {
		return nil, nil, fmt.Errorf("loading %s with %s: %s", plan.File, filepath.Join(r.Dir, authoring.EnvFile), strings.TrimSpace(msgs.String()))
	}
	return p, p.Entity(e.Name), nil
}

// testRound replays one round of an entity into dest and compares (or,
// with update, writes) its expected output.
func testRound(ctx context.Context, c testCase, plan *pipeline.Plan, e *pipeline.Entity, dir string, r authoring.Round, replay *authoring.Replayer, dest *memory.DB, update bool) testCase {
	fail := func(format string, a ...any) testCase {
		c.Status, c.Message = testFailed, fmt.Sprintf(format, a...)
		return c
	}
	expected := filepath.Join(r.Dir, authoring.ExpectedFile)
	res, err := authoring.ReplayRound(ctx, plan, e, r, replay, authoring.Options{Version: version, Dest: dest})
	switch {
	case errors.Is(err, authoring.ErrNotOffline):
		c.Status, c.Message = testSkipped, fmt.Sprintf("a %s source cannot be replayed offline", plan.Source.Type)
		return c
	case errors.Is(err, authoring.ErrNoFixtures) && r.N > 1:
		return fail("no recorded exchanges in %s (preview --record records round 1 only: save this round's from an incremental sync)", r.Dir)
	case errors.Is(err, authoring.ErrNoFixtures):
		return fail("no recorded exchanges in %s (record them: crmsync preview --record %s %s %s)",
			r.Dir, dir, plan.File, e.Name)
	case err != nil:
		return fail("%s", plan.Redact(err.Error()))
	}
	got := res.Lines()
	c.Records = len(got)
	c.Outcomes = map[string]int{}
	var counts []string
	for _, o := range []authoring.Outcome{authoring.OK, authoring.Warned, authoring.Rejected, authoring.Filtered, authoring.Failed, authoring.Unreadable} {
		if n := res.Count(o); n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, o))
			c.Outcomes[fmt.Sprint(o)] = n
		}
	}
	if update {
		if err := authoring.WriteExpected(expected, got); err != nil {
			return fail("%v", err)
		}
		c.Status, c.Message = testUpdated, fmt.Sprintf("%d records → %s", len(got), expected)
		return c
	}
	want, err := authoring.ReadExpected(expected)
	if errors.Is(err, fs.ErrNotExist) {
		return fail("no expected output %s (write it: crmsync test --update %s)", expected, plan.File)
	}
	if err != nil {
		return fail("%v", err)
	}
	if diffs := authoring.Compare(want, got, maxDiffs); len(diffs) > 0 {
		c = fail("the mapped records differ from %s", expected)
		for _, d := range diffs {
			c.Details = append(c.Details, fmt.Sprint(d))
		}
		return c
	}
	c.Status, c.Message = testPassed, fmt.Sprintf("%d %s as expected (%s)", len(got), plural(len(got), "record", "records"), strings.Join(counts, ", "))
	return c
}

var unsetEnvRE = regexp.MustCompile(`^environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set`)

// loadOffline loads a pipeline for a replay, which needs no secret: an
// unset ${env:…} variable without a default gets a placeholder (a URL
// for names that look like one), so the file compiles in CI.
//
// env holds the values of the fixtures' env file: they win over the
// process environment, so a replay sends what was recorded whatever the
// shell holds.
func loadOffline(file, profile string, env map[string]string, stderr io.Writer) (*pipeline.Plan, int) {
	unset := map[string]bool{}
	lookup := func(name string) (string, bool) {
		if v, ok := env[name]; ok {
			return v, true
		}
		if unset[name] {
			return placeholder(name), true
		}
		return os.LookupEnv(name)
	}
	plan, findings := pipeline.LoadFile(file, pipeline.Options{Profile: profile, LookupEnv: lookup})
	for _, f := range findings {
		if m := unsetEnvRE.FindStringSubmatch(f.Message); f.Code == "env-unset" && m != nil {
			unset[m[1]] = true
		}
	}
	if len(unset) > 0 {
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
