package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/crmsync/crmsync/engine/authoring"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

func init() {
	register(command{name: "preview", args: "FILE [ENTITY]", summary: "fetch the first page of an entity and show the mapped records (writes nothing)", run: previewCmd})
}

// cellWidth caps a table cell; --json shows whole values.
const cellWidth = 32

func previewCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	limit := fs.Int("limit", 10, "map and show at most this many records per entity (pages are read until there are enough)")
	asJSON := fs.Bool("json", false, "print JSON: the requests, and each record's outcome, values, reasons and source record")
	profile := fs.String("env", "", "environment profile to apply (environments: in the file)")
	record := fs.String("record", "", "save the HTTP exchanges as fixtures in `DIR`/<entity>/ (secrets removed) and write DIR/<entity>/expected.jsonl for crmsync test")
	debug := fs.Bool("debug", false, "log the source at debug level")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync preview [--limit N] [--json] [--env PROFILE] [--record DIR] FILE [ENTITY]")
		fmt.Fprintln(fs.Output(), "Reads the first page(s) of each entity (or ENTITY) exactly as a first sync does (the runner itself), maps the records and shows them")
		fmt.Fprintln(fs.Output(), "with every warning, conversion failure, rejection and filter decision, and the requests sent (secrets redacted).")
		fmt.Fprintln(fs.Output(), "Writes nothing: it runs the sync into memory, no checkpoint moves. Exit status: 0 read, 1 a read failed, 2 usage error.")
		printFlags(fs.Output(), fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 || *limit < 1 {
		fs.Usage()
		return exitUsage
	}
	plan, code := loadForAuthoring("preview", pos[0], *profile, stderr)
	if plan == nil {
		return code
	}
	ents, code := pickEntities("preview", plan, pos[1:], stderr)
	if ents == nil {
		return code
	}
	if *record != "" && !slices.ContainsFunc(ents, authoring.Recordable) {
		fmt.Fprintf(stderr, "crmsync preview: --record saves HTTP exchanges, and %s reads a %s source; its test reads the files themselves: run crmsync test --update %s\n", pos[0], plan.Source.Type, pos[0])
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(stderr, "text", levelOf(*debug, false))
	red := authoring.NewRedactor(plan)
	code = exitOK
	var docs []previewDoc
	for i, e := range ents {
		rec := authoring.NewRecorder(nil, red)
		res, err := authoring.Read(ctx, plan, e, authoring.Options{Limit: *limit, Wrap: rec.Wrap, Logger: log, Version: version})
		xs := rec.Exchanges()
		doc := newPreviewDoc(plan, e, res, xs)
		if err != nil {
			code = exitFailed
			d := authoring.Diagnose(err, xs, authoring.Hint{Records: recordsPath(plan, e), Source: e.Source})
			doc.Error, doc.Diagnosis = plan.Redact(err.Error()), &d
		}
		if *asJSON {
			docs = append(docs, doc)
		} else {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			writePreview(stdout, doc, res)
		}
		if *record != "" && err == nil {
			n, rres, rerr := authoring.RecordFixtures(ctx, plan, e, *record, xs, authoring.Options{Version: version})
			dir := filepath.Join(*record, e.Name)
			if rerr != nil {
				fmt.Fprintf(stderr, "crmsync preview: recording %s: %v\n", e.Name, rerr)
				code = exitFailed
				continue
			}
			if rs, _ := authoring.Rounds(dir); len(rs) > 0 {
				dir = rs[0].Dir // round-1/ of an entity whose fixtures hold rounds
			}
			fmt.Fprintf(stderr, "recorded %d %s in %s; expected output: %d records in %s\n", n, plural(n, "exchange", "exchanges"),
				dir, len(rres.Records), filepath.Join(dir, authoring.ExpectedFile))
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(docs); err != nil {
			return exitFailed
		}
	}
	return code
}

// previewDoc is one entity's preview, as --json prints it.
type previewDoc struct {
	Pipeline  string               `json:"pipeline"`
	Entity    string               `json:"entity"`
	Requests  []previewExchange    `json:"requests"`
	Pages     int                  `json:"pages"`
	Total     int                  `json:"total"`
	Counts    map[string]int       `json:"counts"`
	Records   []json.RawMessage    `json:"records"`
	Error     string               `json:"error,omitempty"`
	Diagnosis *authoring.Diagnosis `json:"diagnosis,omitempty"`
	columns   []authoring.Column   // for the table
	records   []authoring.Record   // for the table
	exchanges []authoring.Exchange // for the text
	recPath   string               // records path, to count records per response
}

type previewExchange struct {
	authoring.Request
	Status  int    `json:"status,omitempty"`
	Records *int   `json:"records,omitempty"`
	Err     string `json:"error,omitempty"`
}

func newPreviewDoc(plan *pipeline.Plan, e *pipeline.Entity, res *authoring.Result, xs []authoring.Exchange) previewDoc {
	d := previewDoc{Pipeline: plan.Name, Entity: e.Name, Pages: res.Pages, Total: res.Total, Counts: map[string]int{},
		Records: []json.RawMessage{}, columns: res.Columns, records: res.Records, exchanges: xs, recPath: recordsPath(plan, e)}
	for _, x := range xs {
		px := previewExchange{Request: x.Request, Err: x.Err}
		if x.Response != nil {
			px.Status = x.Response.Status
			if n, ok := countRecords(x, d.recPath); ok {
				px.Records = &n
			}
		}
		d.Requests = append(d.Requests, px)
	}
	lines := res.Lines()
	for i, r := range res.Records {
		d.Counts[string(r.Outcome)]++
		line := lines[i]
		src := r.Raw
		if !json.Valid([]byte(src)) {
			b, _ := json.Marshal(src)
			src = string(b)
		}
		d.Records = append(d.Records, json.RawMessage(line[:len(line)-1]+`,"source":`+src+`}`))
	}
	return d
}

// countRecords counts the records a 2xx response holds.
func countRecords(x authoring.Exchange, path string) (int, bool) {
	if !x.OK() || x.Response.Body == nil {
		return 0, false
	}
	v := gjson.ParseBytes(x.Response.Body)
	if path != "" {
		v = v.Get(path)
	}
	if !v.IsArray() {
		return 0, false
	}
	return len(v.Array()), true
}

func writePreview(w io.Writer, d previewDoc, res *authoring.Result) {
	fmt.Fprintf(w, "== %s %s ==\n", d.Pipeline, d.Entity)
	for _, x := range d.exchanges {
		writeExchange(w, x, d.recPath)
	}
	if len(d.exchanges) > 0 {
		fmt.Fprintln(w)
	}
	if len(d.records) > 0 {
		writeTable(w, d.columns, d.records)
		fmt.Fprintln(w)
		writeChildren(w, res)
	}
	var counts []string
	for _, o := range []authoring.Outcome{authoring.OK, authoring.Warned, authoring.Rejected, authoring.Filtered, authoring.Failed, authoring.Unreadable} {
		if n := d.Counts[string(o)]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, o))
		}
	}
	summary := fmt.Sprintf("%d %s from %d %s", len(d.records), plural(len(d.records), "record", "records"), d.Pages, plural(d.Pages, "page", "pages"))
	if d.Total >= 0 {
		summary += fmt.Sprintf(" (the source says %d in all)", d.Total)
	}
	if len(counts) > 0 {
		summary += ": " + strings.Join(counts, ", ")
	}
	if res.Stopped {
		summary += "; stopped at --limit"
	}
	fmt.Fprintln(w, summary)
	for i, r := range d.records {
		if len(r.Reasons) == 0 {
			continue
		}
		id := ""
		if r.ID != "" {
			id = " (id " + r.ID + ")"
		}
		for _, reason := range r.Reasons {
			fmt.Fprintf(w, "  record %d%s: %s: %s\n", i+1, id, r.Outcome, reason)
		}
		if r.Values == nil && r.Raw != "" {
			fmt.Fprintf(w, "    the source's text: %s\n", clip(r.Raw, 120))
		}
	}
	if d.Diagnosis != nil {
		fmt.Fprintf(w, "error: %s\n", d.Diagnosis.Summary)
		for _, s := range d.Diagnosis.Details {
			fmt.Fprintf(w, "  %s\n", s)
		}
		fmt.Fprintf(w, "  (%s)\n", d.Error)
	}
}

// writeExchange prints a request as sent (secrets redacted) and what came back.
func writeExchange(w io.Writer, x authoring.Exchange, recPath string) {
	fmt.Fprintf(w, "%s %s\n", x.Request.Method, x.Request.URL)
	names := make([]string, 0, len(x.Request.Header))
	for k := range x.Request.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %s: %s\n", k, x.Request.Header[k])
	}
	switch {
	case x.Request.Body != nil:
		fmt.Fprintf(w, "  %s\n", clip(string(x.Request.Body), 400))
	case x.Request.Text != "":
		fmt.Fprintf(w, "  %s\n", clip(x.Request.Text, 400))
	}
	switch {
	case x.Response == nil:
		fmt.Fprintf(w, "→ no response: %s\n", x.Err)
	case !x.OK():
		fmt.Fprintf(w, "→ %d %s\n", x.Response.Status, http.StatusText(x.Response.Status))
	default:
		line := fmt.Sprintf("→ %d %s", x.Response.Status, http.StatusText(x.Response.Status))
		if n, ok := countRecords(x, recPath); ok {
			line += fmt.Sprintf(", %d %s", n, plural(n, "record", "records"))
		}
		fmt.Fprintln(w, line)
	}
}

// writeTable prints records as a table: number, outcome, then each field.
func writeTable(w io.Writer, cols []authoring.Column, recs []authoring.Record) {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	var b bytes.Buffer
	b.WriteString("#\tOUTCOME")
	for _, c := range cols {
		b.WriteString("\t" + strings.ToUpper(c.Name))
	}
	fmt.Fprintln(tw, b.String())
	for i, r := range recs {
		b.Reset()
		fmt.Fprintf(&b, "%d\t%s", i+1, r.Outcome)
		for j, c := range cols {
			cell := "" // an unreadable record has no values
			if r.Values != nil {
				cell = clip(authoring.FormatValue(r.Values[j], c.Type), cellWidth)
			}
			b.WriteString("\t" + cell)
		}
		fmt.Fprintln(tw, b.String())
	}
	tw.Flush()
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		io.WriteString(w, strings.TrimRight(l, " \n")+strings.Repeat("\n", strings.Count(l, "\n")))
	}
}

// writeChildren prints the child rows (children:) of the shown records,
// one table per child table, each row numbered by its parent record.
func writeChildren(w io.Writer, res *authoring.Result) {
	for i, ct := range res.Children {
		var parents []int
		var rows []authoring.Record
		for n, r := range res.Records {
			if i >= len(r.Children) {
				continue
			}
			for _, vals := range r.Children[i] {
				parents = append(parents, n+1)
				rows = append(rows, authoring.Record{Values: vals})
			}
		}
		fmt.Fprintf(w, "child rows %s: %d %s\n", ct.Name, len(rows), plural(len(rows), "row", "rows"))
		if len(rows) == 0 {
			fmt.Fprintln(w)
			continue
		}
		var buf bytes.Buffer
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		head := "RECORD"
		for _, c := range ct.Columns {
			head += "\t" + strings.ToUpper(c.Name)
		}
		fmt.Fprintln(tw, head)
		for j, r := range rows {
			line := fmt.Sprint(parents[j])
			for k, c := range ct.Columns {
				cell := ""
				if k < len(r.Values) {
					cell = clip(authoring.FormatValue(r.Values[k], c.Type), cellWidth)
				}
				line += "\t" + cell
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
		for _, l := range strings.SplitAfter(buf.String(), "\n") {
			io.WriteString(w, strings.TrimRight(l, " \n")+strings.Repeat("\n", strings.Count(l, "\n")))
		}
		fmt.Fprintln(w)
	}
}

// clip shortens a text to n runes on one line.
func clip(s string, n int) string {
	s = strings.NewReplacer("\r\n", "⏎", "\n", "⏎", "\t", " ").Replace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// recordsPath is the entity's records path (the entity's, else the
// source's), when its source reads one.
func recordsPath(_ *pipeline.Plan, e *pipeline.Entity) string {
	if rp, ok := e.Source.(source.RecordsPather); ok {
		return rp.RecordsPath()
	}
	return ""
}

// loadForAuthoring loads a pipeline file for preview and check: an
// unset ${env:…} variable is an error there, since the source cannot be
// reached without it. A file with errors prints them and returns a nil
// plan; warnings are printed.
func loadForAuthoring(verb, file, profile string, stderr io.Writer) (*pipeline.Plan, int) {
	plan, findings := pipeline.LoadFile(file, pipeline.Options{Profile: profile, StrictEnv: true})
	if findings.HasErrors() {
		findings.WriteText(stderr)
		if onlyUnsetEnv(findings.Errors()) {
			fmt.Fprintf(stderr, "crmsync %s: set the environment variables above: %s cannot reach its source without them\n", verb, file)
		} else {
			fmt.Fprintf(stderr, "crmsync %s: %s has problems (run crmsync lint %s)\n", verb, file, file)
		}
		return nil, exitUsage
	}
	findings.WriteText(stderr)
	return plan, exitOK
}

func onlyUnsetEnv(l diag.List) bool {
	for _, f := range l {
		if f.Code != "env-unset" && f.Code != "file-unreadable" {
			return false
		}
	}
	return len(l) > 0
}

// pickEntities returns the named entity, or every entity.
func pickEntities(verb string, plan *pipeline.Plan, names []string, stderr io.Writer) ([]*pipeline.Entity, int) {
	if len(names) == 0 {
		return plan.Entities, exitOK
	}
	e := plan.Entity(names[0])
	if e == nil {
		var all []string
		for _, x := range plan.Entities {
			all = append(all, x.Name)
		}
		fmt.Fprintf(stderr, "crmsync %s: %s has no entity %q (entities: %s)\n", verb, plan.File, names[0], strings.Join(all, ", "))
		return nil, exitUsage
	}
	return []*pipeline.Entity{e}, exitOK
}
