package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/tenant"
	"github.com/crmsync/crmsync/schema"
)

func init() {
	register(command{name: "lint", args: "FILE|DIR...", summary: "check pipeline files against the schema and compile them", run: lintCmd})
	register(command{name: "schema", summary: "print the JSON Schema of pipeline files", run: schemaCmd})
}

func schemaCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	fs.SetOutput(stderr)
	write := fs.String("write", "", "write DIR/pipeline.schema.json (for editors) instead of printing it")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync schema [--write DIR] > pipeline.schema.json")
		fmt.Fprintln(fs.Output(), "Prints the JSON Schema (draft 2020-12) pipeline files are checked against, for editors and other tools.")
		fmt.Fprintln(fs.Output(), "With --write, writes it as DIR/pipeline.schema.json and prints the line that points an editor at it.")
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
	if *write == "" {
		stdout.Write(schema.JSON)
		return exitOK
	}
	path, err := writeSchema(*write)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync schema: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "wrote %s\n", path)
	fmt.Fprintf(stdout, "first line of a pipeline file, with the path relative to that file:\n  # yaml-language-server: $schema=%s\n", filepath.ToSlash(path))
	fmt.Fprintf(stdout, "or, for every file of a folder, in VS Code's settings.json:\n  \"yaml.schemas\": {\"%s\": \"pipelines/*.yaml\"}\n", filepath.ToSlash(path))
	return exitOK
}

// writeSchema writes the schema into dir (made if missing) by a rename, so
// an editor watching the file never reads half of it.
func writeSchema(dir string) (string, error) {
	path := filepath.Join(dir, "pipeline.schema.json")
	return path, writeFileByRename(path, schema.JSON)
}

func lintCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	strict := fs.Bool("strict", false, "treat warnings (such as unset environment variables) as errors")
	format := fs.String("format", "text", "output format: text or json")
	profile := fs.String("env", "", "environment profile to apply before checking")
	tenantsFile := fs.String("tenants", "", "a tenants file: check it, and every file with each tenant's environment and tables")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync lint [--strict] [--format text|json] [--env PROFILE] FILE|DIR...")
		fmt.Fprintln(fs.Output(), "Checks every file (a folder: its pipeline files, sub-folders too) and prints every problem")
		fmt.Fprintln(fs.Output(), "as path:line:col: severity: message [code].")
		fmt.Fprintln(fs.Output(), "Exit status: 0 clean, 1 problems found, 2 usage or I/O error.")
		printFlags(fs.Output(), fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) == 0 || (*format != "text" && *format != "json") {
		fs.Usage()
		return exitUsage
	}
	files, err := pipeline.ExpandTree(pos)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync lint:", err)
		return exitUsage
	}
	var set *tenant.Set
	if *tenantsFile != "" {
		if set, err = tenant.Load(*tenantsFile); err != nil {
			fmt.Fprintln(stderr, "crmsync lint: --tenants:", err)
			return exitFailed
		}
	}
	var all diag.List
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(stderr, "crmsync lint:", err)
			return exitUsage
		}
		o := pipeline.Options{Profile: *profile, StrictLint: *strict}
		if set == nil {
			_, findings := pipeline.Lint(f, data, o)
			all = append(all, findings...)
			continue
		}
		for _, t := range set.Tenants {
			_, findings := pipeline.Lint(f, data, t.Options(o))
			for _, fd := range findings {
				fd.Message = "tenant " + t.Name + ": " + fd.Message
				all = append(all, fd)
			}
		}
	}
	if *format == "json" {
		all.WriteJSON(stdout)
	} else {
		all.WriteText(stdout)
	}
	problems := all.HasErrors() || (*strict && len(all) > 0)
	if problems {
		return exitFailed
	}
	if *format == "text" && len(all) == 0 {
		fmt.Fprintf(stderr, "%d file(s) ok\n", len(files))
	}
	return exitOK
}
