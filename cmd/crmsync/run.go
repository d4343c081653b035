package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/tenant"
)

func init() {
	register(command{name: "run", args: "FILE|DIR...", summary: "sync pipelines once and exit", run: runCmd})
}

type runFlags struct {
	dest, profile, start, end, logFormat, logLevel string
	tenants                                        string
	entities                                       stringsFlag
	full, dryRun, debug, skipValidation            bool
	quiet, noProgress, json                        bool
	batchSize, maxRecords, parallel, partitions    int
}

// runFlagSet defines run's flags into f (the Kubernetes CronJob test
// parses its args with it).
func runFlagSet(f *runFlags, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.dest, "dest", "", "destination: sqlite:PATH or postgres://… (default $CRMSYNC_DEST, else sqlite:crmsync.db)")
	fs.StringVar(&f.tenants, "tenants", "", tenantsUsage)
	fs.Var(&f.entities, "entity", "sync only this entity (repeatable)")
	fs.BoolVar(&f.full, "full", false, "ignore the checkpoint and read everything (rows are still upserted)")
	fs.StringVar(&f.start, "start-date", "", "sync only records from this date or time on (does not move the checkpoint backwards)")
	fs.StringVar(&f.end, "end-date", "", "sync only records before this date or time")
	fs.BoolVar(&f.dryRun, "dry-run", false, "read, transform and validate, but write nothing (not even history)")
	fs.StringVar(&f.profile, "env", "", "environment profile to apply (environments: in the file)")
	fs.IntVar(&f.batchSize, "batch-size", 0, "records per write transaction (overrides the file and <PIPELINE>_BATCH_SIZE)")
	fs.IntVar(&f.maxRecords, "max-records", -1, "stop each entity after this many records and commit what was read (0: no limit)")
	fs.BoolVar(&f.debug, "debug", false, "log at debug level")
	fs.BoolVar(&f.skipValidation, "skip-validation", false, "run no validators (types are still converted)")
	fs.BoolVar(&f.quiet, "quiet", false, "print only warnings and errors: no progress, no summary")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no live progress line")
	fs.StringVar(&f.logFormat, "log-format", "", "log format: text or json (default: text on a terminal, else json)")
	fs.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn or error (overrides --debug and --quiet)")
	fs.IntVar(&f.parallel, "parallel", 4, "entities of one pipeline synced at once, and partitions of one partitioned backfill")
	fs.IntVar(&f.partitions, "partitions", 0, "split the full read (first sync or --full) of every SQL entity that can be partitioned into this many primary-key ranges, read at once (overrides partitions: in the file)")
	fs.BoolVar(&f.json, "json", false, "print one JSON document on stdout instead of the summary table: every entity's status, counts and errors")
	return fs
}

func runCmd(args []string, stdout, stderr io.Writer) int {
	var f runFlags
	fs := runFlagSet(&f, stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync run [flags] FILE|DIR...")
		fmt.Fprintln(fs.Output(), "With --json, stdout is one JSON document (the summary); the log stays on stderr.")
		fmt.Fprintln(fs.Output(), "Syncs every entity of the pipeline files once. Exit status: 0 all succeeded, 1 any failed, 2 usage error, 3 any partial.")
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
	start, end, err := runWindow(&f)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync run:", err)
		return exitUsage
	}
	prog := newProgress(stderr, !f.quiet && !f.noProgress && isTerminal(stderr))
	log, err := runLogger(&f, prog, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync run:", err)
		return exitUsage
	}
	var set *tenant.Set
	if f.tenants != "" {
		if set, err = tenant.Load(f.tenants); err != nil {
			fmt.Fprintln(stderr, "crmsync run: --tenants:", err)
			return exitUsage
		}
	}
	plans, planTenant, ok := loadRunPlans(&f, pos, set, log, stderr)
	if !ok {
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var dest sink.Destination
	dsn := destDSN(f.dest)
	if !f.dryRun {
		if dest, err = sink.Open(ctx, dsn); err != nil {
			fmt.Fprintln(stderr, "crmsync run:", err)
			return exitUsage
		}
		defer dest.Close()
	}
	// Tenants with a schema write into a destination of their own.
	tenantDest := map[*tenant.Tenant]sink.Destination{}
	if set != nil && !f.dryRun {
		ts, closeTenants, err := openTenants(ctx, set, dsn)
		if err != nil {
			fmt.Fprintln(stderr, "crmsync run: --tenants:", err)
			return exitUsage
		}
		defer closeTenants()
		for _, t := range ts {
			if t.Dest != nil {
				tenantDest[t.Tenant] = t.Dest
			}
		}
	}
	ro := runner.Options{Parallel: f.parallel, Dest: dest, Logger: log, Full: f.full, Start: start, End: end, DryRun: f.dryRun,
		SkipValidation: f.skipValidation, Version: version, Progress: prog.update}
	var results []*runner.Result
	for _, p := range plans {
		o := ro
		if d := tenantDest[planTenant[p]]; d != nil {
			o.Dest = d
		}
		results = append(results, syncPlan(ctx, p, f.entities, f.parallel, o)...)
	}
	prog.done()
	code = exitCode(results)
	switch {
	case f.json:
		writeJSON(stdout, newRunReport(results, f.dryRun, code))
	case !f.quiet:
		printSummary(stdout, results, f.dryRun)
	}
	return code
}

// runReport is run --json's document.
type runReport struct {
	DryRun   bool      `json:"dry_run"`
	ExitCode int       `json:"exit_code"`
	Status   string    `json:"status"` // success, partial or failed: the worst of the syncs
	Syncs    []runSync `json:"syncs"`
}

type runSync struct {
	sink.Sync
	DurationSeconds float64 `json:"duration_seconds"`
	Error           string  `json:"error,omitempty"`
	// Elsewhere: another process holds the entity; this run did nothing.
	Elsewhere bool `json:"elsewhere,omitempty"`
}

func newRunReport(results []*runner.Result, dryRun bool, code int) runReport {
	r := runReport{DryRun: dryRun, ExitCode: code, Status: map[int]string{exitOK: sink.StatusSuccess, exitPartial: sink.StatusPartial}[code], Syncs: []runSync{}}
	if r.Status == "" {
		r.Status = sink.StatusFailed
	}
	for _, res := range results {
		s := runSync{Sync: res.Sync, DurationSeconds: res.Duration.Seconds(), Elsewhere: res.Elsewhere}
		if s.Errors == nil {
			s.Errors = []string{}
		}
		if res.Err != nil {
			s.Error = strings.TrimSpace(res.Err.Error())
		}
		r.Syncs = append(r.Syncs, s)
	}
	return r
}

// syncPlan runs the chosen entities of one plan, up to parallel at once.
func syncPlan(ctx context.Context, p *pipeline.Plan, only []string, parallel int, o runner.Options) []*runner.Result {
	var ents []*pipeline.Entity
	for _, e := range p.Entities {
		if len(only) == 0 || slices.Contains(only, e.Name) {
			ents = append(ents, e)
		}
	}
	results := make([]*runner.Result, len(ents))
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, e := range ents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = runner.Sync(ctx, p, e, o)
		}()
	}
	wg.Wait()
	return results
}

func exitCode(results []*runner.Result) int {
	code := exitOK
	for _, r := range results {
		switch r.Status {
		case sink.StatusFailed, sink.StatusInterrupted:
			return exitFailed
		case sink.StatusPartial:
			code = exitPartial
		}
	}
	return code
}

func printSummary(w io.Writer, results []*runner.Result, dryRun bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	title := "PIPELINE\tENTITY\tSTATUS\tPROCESSED\tCREATED\tUPDATED\tUNCHANGED\tFILTERED\tREJECTED\tDUPLICATES\tRECORDS/S\tDURATION\t"
	if dryRun {
		fmt.Fprintln(w, "dry run: nothing was written")
	}
	fmt.Fprintln(tw, title)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.0f\t%s\t\n", r.Pipeline, r.Entity, r.Status, r.Processed,
			r.Created, r.Updated, r.Unchanged, r.Filtered, r.Rejected, r.Duplicates, r.RecordsPerSecond, r.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	for _, r := range results {
		if len(r.Warnings) == 0 {
			continue
		}
		names := make([]string, 0, len(r.Warnings))
		for f := range r.Warnings {
			names = append(names, f)
		}
		sort.Strings(names)
		for i, f := range names {
			names[i] = fmt.Sprintf("%s %d", f, r.Warnings[f])
			if n := r.NotPrinted[f]; n > 0 {
				names[i] += fmt.Sprintf(" (%d not printed)", n)
			}
		}
		fmt.Fprintf(w, "%s %s: record warnings by field: %s\n", r.Pipeline, r.Entity, strings.Join(names, ", "))
	}
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(w, "%s %s: %s\n", r.Pipeline, r.Entity, strings.TrimSpace(r.Err.Error()))
		}
	}
}

func destDSN(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv("CRMSYNC_DEST"); v != "" {
		return v
	}
	return sink.DefaultDSN
}

// levelOf is the log level --debug and --quiet ask for.
func levelOf(debug, quiet bool) slog.Level {
	switch {
	case debug:
		return slog.LevelDebug
	case quiet:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// newLogger logs at level: text on a terminal, JSON otherwise, unless
// format says.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress draws one live status line on a terminal: every entity that
// has reported, with its pages, records, rate and elapsed time. Log lines
// written through it (Write) clear the status line first and draw it
// again after, so the two never garble each other.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	started time.Time
	order   []string
	state   map[string]runner.Progress
	line    string // what is on screen now
}

func newProgress(w io.Writer, on bool) *progress {
	return &progress{w: w, on: on, started: time.Now(), state: map[string]runner.Progress{}}
}

// Write passes a log line through, keeping the status line below it.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.line != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
	n, err := p.w.Write(b)
	if p.line != "" {
		fmt.Fprint(p.w, p.line)
	}
	return n, err
}

func (p *progress) update(pr runner.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	key := pr.Pipeline + " " + pr.Entity
	if _, ok := p.state[key]; !ok {
		p.order = append(p.order, key)
	}
	p.state[key] = pr
	el := time.Since(p.started)
	var parts []string
	for _, k := range p.order {
		parts = append(parts, k+": "+entityProgress(p.state[k]))
	}
	var records int64
	for _, st := range p.state {
		records += st.Records
	}
	p.line = fmt.Sprintf("%s · %.0f rec/s · %s", strings.Join(parts, " | "), float64(records)/max(el.Seconds(), 0.001), el.Round(time.Second))
	if len(p.line) > 200 {
		p.line = p.line[:197] + "..."
	}
	fmt.Fprint(p.w, "\r\033[K"+p.line)
}

// entityProgress is one entity's part of the status line: pages and
// records, and when the source said how many there are, the share done
// and the time left at the entity's rate so far ("p3 120/240 50% ETA 4s").
func entityProgress(st runner.Progress) string {
	s := fmt.Sprintf("p%d %d", st.Pages, st.Records)
	if st.Total <= 0 {
		return s
	}
	done := min(float64(st.Records)/float64(st.Total), 1)
	s += fmt.Sprintf("/%d %d%%", st.Total, int(done*100))
	if left := int64(st.Total) - st.Records; left > 0 && st.Records > 0 && st.Elapsed > 0 {
		eta := time.Duration(float64(st.Elapsed) * float64(left) / float64(st.Records))
		switch eta = eta.Round(time.Second); {
		case eta < time.Second:
			s += " ETA <1s"
		case eta < time.Minute:
			s += fmt.Sprintf(" ETA %ds", int(eta.Seconds()))
		case eta < time.Hour:
			s += fmt.Sprintf(" ETA %dm%02ds", int(eta.Minutes()), int(eta.Seconds())%60)
		default:
			s += fmt.Sprintf(" ETA %dh%02dm", int(eta.Hours()), int(eta.Minutes())%60)
		}
	}
	return s
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.line != "" {
		fmt.Fprint(p.w, "\r\033[K")
		p.line = ""
	}
}

// runWindow reads --start-date and --end-date.
func runWindow(f *runFlags) (start, end time.Time, err error) {
	if f.start != "" {
		if start, err = pipeline.ParseWatermarkTime(f.start); err != nil {
			return start, end, fmt.Errorf("--start-date %q: want 2006-01-02 or an RFC 3339 time", f.start)
		}
	}
	if f.end != "" {
		if end, err = pipeline.ParseWatermarkTime(f.end); err != nil {
			return start, end, fmt.Errorf("--end-date %q: want 2006-01-02 or an RFC 3339 time", f.end)
		}
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		return start, end, errors.New("--end-date must be after --start-date")
	}
	return start, end, nil
}

// runLogger is the log of a run: text on a terminal, else JSON, at the
// level the flags ask for, printed around the progress line.
func runLogger(f *runFlags, prog *progress, stderr io.Writer) (*slog.Logger, error) {
	logFormat := f.logFormat
	if logFormat == "" && isTerminal(stderr) {
		logFormat = "text"
	}
	level := levelOf(f.debug, f.quiet)
	if f.logLevel != "" {
		if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
			return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
		}
	}
	return newLogger(prog, logFormat, level), nil
}

// loadRunPlans loads every file (once per tenant with --tenants) and
// checks that each --entity names an entity of one of them; a problem is
// printed and nothing runs.
func loadRunPlans(f *runFlags, pos []string, set *tenant.Set, log *slog.Logger, stderr io.Writer) ([]*pipeline.Plan, map[*pipeline.Plan]*tenant.Tenant, bool) {
	files, err := pipeline.Expand(pos)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync run:", err)
		return nil, nil, false
	}
	opts := pipeline.Options{Profile: f.profile, BatchSize: f.batchSize, Partitions: f.partitions, StrictEnv: true}
	if f.maxRecords >= 0 {
		opts.MaxRecords = &f.maxRecords
	}
	var plans []*pipeline.Plan
	planTenant := map[*pipeline.Plan]*tenant.Tenant{}
	variants := []*tenant.Tenant{nil}
	if set != nil {
		variants = set.Tenants
	}
	for _, file := range files {
		for _, t := range variants {
			o, who := opts, ""
			if t != nil {
				o, who = t.Options(opts), " (tenant "+t.Name+")"
			}
			plan, findings := pipeline.LoadFile(file, o)
			if findings.HasErrors() {
				findings.WriteText(stderr)
				fmt.Fprintf(stderr, "crmsync run: %s has problems%s; nothing was synced (run crmsync lint %s)\n", file, who, file)
				return nil, nil, false
			}
			for _, w := range findings {
				log.Warn(w.String() + who)
			}
			if t != nil {
				t.Apply(plan)
				planTenant[plan] = t
			}
			plans = append(plans, plan)
		}
	}
	for _, name := range f.entities {
		found := false
		for _, p := range plans {
			found = found || p.Entity(name) != nil
		}
		if !found {
			fmt.Fprintf(stderr, "crmsync run: no pipeline has an entity %q\n", name)
			return nil, nil, false
		}
	}
	return plans, planTenant, true
}
