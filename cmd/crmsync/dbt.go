package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/schedule"
	"github.com/crmsync/crmsync/engine/sink"
	"go.yaml.in/yaml/v3"
)

func init() {
	register(command{name: "dbt", args: "sources FILE|DIR...", summary: "write a dbt sources.yml describing the tables pipelines load", run: dbtCmd})
}

func dbtCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dbt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dest := fs.String("dest", "", "the destination the tables are in (default $CRMSYNC_DEST, else sqlite:crmsync.db): its schema and column types")
	out := fs.String("out", "", "write the file here (for example models/staging/crmsync_sources.yml) instead of stdout")
	profile := fs.String("env", "", "environment profile to apply before reading the files")
	database := fs.String("database", "", "dbt database (catalog) of the sources, when it is not the profile's")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync dbt sources [--dest DSN] [--out FILE] [--env PROFILE] [--database DB] FILE|DIR...")
		fmt.Fprintln(fs.Output(), "Writes a dbt sources.yml (version 2): one source per pipeline, its tables and child tables with")
		fmt.Fprintln(fs.Output(), "every column, its type and where it comes from, not_null/unique tests on primary keys, and")
		fmt.Fprintln(fs.Output(), "freshness on _synced_at from the pipeline's schedule (warn after two missed runs, error after four).")
		fmt.Fprintln(fs.Output(), "Nothing is connected to: types and schema come from the destination's DSN.")
		printFlags(fs.Output(), fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) < 2 || pos[0] != "sources" {
		fs.Usage()
		return exitUsage
	}
	files, err := pipeline.ExpandTree(pos[1:])
	if err != nil {
		fmt.Fprintln(stderr, "crmsync dbt:", err)
		return exitUsage
	}
	doc := dbtFile{Version: 2}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(stderr, "crmsync dbt:", err)
			return exitUsage
		}
		plan, findings := pipeline.Load(f, data, pipeline.Options{Profile: *profile})
		if findings.HasErrors() {
			findings.Errors().WriteText(stderr)
			fmt.Fprintf(stderr, "crmsync dbt: %s does not compile; run crmsync lint %s\n", f, f)
			return exitFailed
		}
		src, err := dbtSourceOf(plan, destDSN(*dest))
		if err != nil {
			fmt.Fprintf(stderr, "crmsync dbt: %s: %v\n", f, err)
			return exitUsage
		}
		src.Database = *database
		doc.Sources = append(doc.Sources, src)
	}
	var b bytes.Buffer
	b.WriteString("# Written by crmsync dbt sources from " + strings.Join(pos[1:], " ") + "; regenerate rather than edit.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		fmt.Fprintln(stderr, "crmsync dbt:", err)
		return exitUsage
	}
	enc.Close()
	if *out == "" {
		stdout.Write(b.Bytes())
		return exitOK
	}
	if err := writeFileByRename(*out, b.Bytes()); err != nil {
		fmt.Fprintln(stderr, "crmsync dbt:", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "wrote %s (%d sources)\n", *out, len(doc.Sources))
	return exitOK
}

// The dbt sources.yml shape (https://docs.getdbt.com/reference/source-properties).
type dbtFile struct {
	Version int         `yaml:"version"`
	Sources []dbtSource `yaml:"sources"`
}

type dbtSource struct {
	Name          string        `yaml:"name"`
	Description   string        `yaml:"description,omitempty"`
	Database      string        `yaml:"database,omitempty"`
	Schema        string        `yaml:"schema"`
	LoadedAtField string        `yaml:"loaded_at_field"`
	Freshness     *dbtFreshness `yaml:"freshness,omitempty"`
	Tables        []dbtTable    `yaml:"tables"`
}

type dbtFreshness struct {
	WarnAfter  dbtPeriod `yaml:"warn_after"`
	ErrorAfter dbtPeriod `yaml:"error_after"`
}

type dbtPeriod struct {
	Count  int    `yaml:"count"`
	Period string `yaml:"period"`
}

type dbtTable struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description,omitempty"`
	Columns     []dbtColumn `yaml:"columns"`
}

type dbtColumn struct {
	Name        string   `yaml:"name"`
	DataType    string   `yaml:"data_type"`
	Description string   `yaml:"description,omitempty"`
	DataTests   []string `yaml:"data_tests,omitempty"`
}

var systemColumnDoc = map[string]string{
	"_synced_at":  "When crmsync last wrote this row (UTC); what incremental models filter on.",
	"_sync_id":    "The crmsync sync (history row) that last wrote this row.",
	"_row_hash":   "Hash of the row's values; crmsync skips rewriting rows whose hash did not change.",
	"_raw":        "The source record as received (keep_raw: true).",
	"_deleted_at": "Set when a complete full sync no longer saw the row (delete_missing: soft); NULL for live rows.",
	"_index":      "Position of the row in its parent's array (the child table has no key of its own).",
}

func dbtSourceOf(plan *pipeline.Plan, dsn string) (dbtSource, error) {
	src := dbtSource{Name: plan.Name, Description: plan.Description, LoadedAtField: "_synced_at"}
	if plan.Schedule != "" {
		f, err := freshnessOf(plan.Schedule)
		if err != nil {
			return src, fmt.Errorf("schedule %q: %w", plan.Schedule, err)
		}
		src.Freshness = f
	}
	for _, e := range plan.Entities {
		desc := e.Config.Description
		if desc == "" {
			desc = fmt.Sprintf("%s %s, synced by crmsync (%s source).", plan.Name, e.Name, plan.Source.Type)
		}
		t, schema, err := dbtTableOf(dsn, e.Table, desc, e.Config.Fields, e.Table.PrimaryKey, nil)
		if err != nil {
			return src, fmt.Errorf("entity %s: %w", e.Name, err)
		}
		src.Schema = schema
		src.Tables = append(src.Tables, t)
		for _, c := range e.Children {
			var fields config.Fields
			for _, cc := range e.Config.Children {
				if cc.Name == c.Name {
					fields = cc.Fields
				}
			}
			desc := fmt.Sprintf("Rows of %s's %s, one per element; each row leads with its parent's key.", e.Table.Name, c.Name)
			ct, _, err := dbtTableOf(dsn, c.Table, desc, fields, c.Table.PrimaryKey, c.Table.ParentKey)
			if err != nil {
				return src, fmt.Errorf("entity %s: child %s: %w", e.Name, c.Name, err)
			}
			src.Tables = append(src.Tables, ct)
		}
	}
	return src, nil
}

func dbtTableOf(dsn string, t *sink.Table, desc string, fields config.Fields, key, parentKey []string) (dbtTable, string, error) {
	shape, err := sink.Describe(dsn, t)
	if err != nil {
		return dbtTable{}, "", err
	}
	out := dbtTable{Name: t.Name, Description: desc}
	byName := map[string]*config.Field{}
	for _, f := range fields {
		byName[f.Name] = f
	}
	for _, c := range shape.Columns {
		col := dbtColumn{Name: c.Name, DataType: c.SQLType}
		switch {
		case c.System || systemColumnDoc[c.Name] != "":
			col.Description = systemColumnDoc[c.Name]
		case byName[c.Name] != nil:
			col.Description = fieldDoc(byName[c.Name], t.Columns)
		case slices.Contains(parentKey, c.Name):
			col.Description = "The parent row's key."
		}
		if slices.Contains(key, c.Name) {
			col.DataTests = []string{"not_null"}
			if len(key) == 1 {
				col.DataTests = append(col.DataTests, "unique")
			}
			col.Description = strings.TrimSpace("Primary key. " + col.Description)
		}
		out.Columns = append(out.Columns, col)
	}
	return out, shape.Schema, nil
}

// fieldDoc says where a column's values come from, in the file's terms.
func fieldDoc(f *config.Field, cols []sink.Column) string {
	typ := f.Type
	for _, c := range cols {
		if c.Name == f.Name {
			typ = c.Type.String()
		}
	}
	var from string
	switch {
	case f.Expr != "":
		from = "expression `" + strings.Join(strings.Fields(f.Expr), " ") + "`"
	case f.Path != "":
		from = "source path `" + strings.Join(append([]string{f.Path}, f.Fallbacks...), "`, else `") + "`"
	}
	s := typ
	if from != "" {
		s += " from " + from
	}
	if len(f.Validate) > 0 {
		var names []string
		for _, v := range f.Validate {
			names = append(names, v.Name)
		}
		s += "; validated: " + strings.Join(names, ", ")
	}
	return s + "."
}

// freshnessOf warns after two of the schedule's longest gaps between runs
// and errors after four: one missed run is not yet news.
func freshnessOf(spec string) (*dbtFreshness, error) {
	sch, err := schedule.Parse(spec)
	if err != nil {
		return nil, err
	}
	// The longest gap over two weeks of runs covers cron schedules that
	// skip weekends or nights.
	at := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	end := at.Add(14 * 24 * time.Hour)
	var longest time.Duration
	for n := 0; at.Before(end) && n < 20000; n++ {
		next := sch.Next(at)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(at))
		at = next
	}
	if longest <= 0 {
		return nil, fmt.Errorf("it never runs")
	}
	return &dbtFreshness{WarnAfter: periodOf(2 * longest), ErrorAfter: periodOf(4 * longest)}, nil
}

// periodOf writes d in dbt's units, rounded up to whole minutes.
func periodOf(d time.Duration) dbtPeriod {
	switch {
	case d%(24*time.Hour) == 0:
		return dbtPeriod{int(d / (24 * time.Hour)), "day"}
	case d%time.Hour == 0:
		return dbtPeriod{int(d / time.Hour), "hour"}
	}
	return dbtPeriod{int((d + time.Minute - 1) / time.Minute), "minute"}
}
