package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
)

func init() {
	register(command{name: "history", summary: "list recent syncs from the destination", run: func(a []string, o, e io.Writer) int { return listCmd("history", a, o, e) }})
	register(command{name: "rejects", summary: "list rejected records with their reasons", run: func(a []string, o, e io.Writer) int { return listCmd("rejects", a, o, e) }})
}

func listCmd(what string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dest := fs.String("dest", "", "destination (default $CRMSYNC_DEST, else sqlite:crmsync.db)")
	var f sink.Filter
	fs.StringVar(&f.Pipeline, "pipeline", "", "only this pipeline")
	fs.StringVar(&f.Entity, "entity", "", "only this entity")
	fs.IntVar(&f.Limit, "limit", 20, "at most this many rows, newest first")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: crmsync %s [--dest DSN] [--pipeline P] [--entity E] [--limit N] [--json]\n", what)
		printFlags(fs.Output(), fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fs.Usage()
		return exitUsage
	}
	ctx := context.Background()
	// A read command never creates a database: a missing file is an error.
	d, err := sink.OpenExisting(ctx, destDSN(*dest))
	if errors.Is(err, iofs.ErrNotExist) {
		missingDatabase(stderr, what, destDSN(*dest))
		return exitUsage
	}
	if err != nil {
		fmt.Fprintf(stderr, "crmsync %s: %v\n", what, err)
		return exitUsage
	}
	defer d.Close()
	if what == "history" {
		rows, err := d.History(ctx, f)
		if err != nil {
			fmt.Fprintf(stderr, "crmsync history: %v\n", err)
			return exitFailed
		}
		if *asJSON {
			type syncJSON struct {
				sink.Sync
				DurationSeconds float64 `json:"duration_seconds"`
			}
			out := make([]syncJSON, len(rows))
			for i, r := range rows {
				out[i] = syncJSON{r, r.DurationSeconds()}
			}
			return writeJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPIPELINE\tENTITY\tSTATUS\tSTARTED\tDURATION\tPROCESSED\tCREATED\tUPDATED\tUNCHANGED\tREJECTED\tDUPLICATES\tERRORS")
		for _, s := range rows {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", s.ID, s.Pipeline, s.Entity, s.Status,
				s.StartedAt.Local().Format(time.DateTime), s.Duration.Round(time.Millisecond), s.Processed, s.Created, s.Updated,
				s.Unchanged, s.Rejected, s.Duplicates, strings.Join(s.Errors, "; "))
		}
		tw.Flush()
		return exitOK
	}
	rows, err := d.Rejects(ctx, f)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync rejects: %v\n", err)
		return exitFailed
	}
	if *asJSON {
		return writeJSON(stdout, rows)
	}
	for _, r := range rows {
		fmt.Fprintf(stdout, "%s %s record %s (sync %d, %s):\n", r.Pipeline, r.Entity, r.RecordID, r.SyncID, r.CreatedAt.Local().Format(time.DateTime))
		for _, reason := range r.Reasons {
			fmt.Fprintf(stdout, "  - %s\n", reason)
		}
	}
	return exitOK
}

// missingDatabase says which SQLite file was looked for and, when a
// quick-start demo database is nearby, how to read that one instead.
func missingDatabase(w io.Writer, what, dsn string) {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
	path, _, _ = strings.Cut(path, "?")
	abs, _ := filepath.Abs(path)
	where := path
	if abs != path {
		where += " (looked for " + abs + ")"
	}
	fmt.Fprintf(w, "crmsync %s: no database at %s; crmsync run creates it, %s only reads\n", what, where, what)
	for _, demo := range demoDatabases(filepath.Dir(abs)) {
		fmt.Fprintf(w, "  the quick-start demo's database is %s: crmsync %s --dest sqlite:%s\n", demo, what, demo)
	}
	if os.Getenv("CRMSYNC_DEST") == "" && dsn == sink.DefaultDSN {
		fmt.Fprintf(w, "  (another destination: --dest sqlite:PATH, --dest postgres://… or $CRMSYNC_DEST)\n")
	}
}

// demoDatabases: examples/quickstart/*.db in dir, the working directory
// or up to three folders above it, as paths relative to the working
// directory when they can be.
func demoDatabases(dir string) []string {
	wd, _ := os.Getwd()
	dirs := []string{dir, wd}
	for d, i := wd, 0; i < 3; i++ {
		d = filepath.Dir(d)
		dirs = append(dirs, d)
	}
	var out []string
	seen := map[string]bool{}
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(d, "examples", "quickstart", "*.db"))
		for _, m := range matches {
			if seen[m] {
				continue
			}
			seen[m] = true
			if rel, err := filepath.Rel(wd, m); err == nil {
				m = rel
			}
			out = append(out, m)
		}
	}
	return out
}

func writeJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailed
	}
	return exitOK
}
