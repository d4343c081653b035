package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
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
	d, err := sink.Open(ctx, destDSN(*dest))
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

func writeJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFailed
	}
	return exitOK
}
