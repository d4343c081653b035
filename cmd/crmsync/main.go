// Command crmsync moves CRM data into PostgreSQL (or an embedded SQLite
// file) from pipeline files written in YAML. See the README and docs/.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…" (make
// build and make release set it from git describe); a go install build
// takes its module version and revision from the binary (see version.go).
var version string

// Exit codes, documented in docs/guides/command-line.md.
const (
	exitOK      = 0
	exitFailed  = 1 // a sync failed; lint found problems
	exitUsage   = 2 // bad command line, unreadable file, unreachable destination
	exitPartial = 3 // a sync finished but rejected or failed some records
)

type command struct {
	name, args, summary string
	run                 func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func main() {
	os.Exit(withProfiles(os.Stderr, func() int {
		return withTelemetry(os.Stderr, func() int { return run(os.Args[1:], os.Stdout, os.Stderr) })
	}))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				return unknownCommand(args[1], stderr)
			}
			return c.run([]string{"--help"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	case "-version", "--version", "-V":
		args = []string{"version"}
	}
	c, ok := commands[args[0]]
	if !ok {
		return unknownCommand(args[0], stderr)
	}
	return c.run(args[1:], stdout, stderr)
}

func unknownCommand(name string, stderr io.Writer) int {
	if strings.HasPrefix(name, "-") {
		fmt.Fprintf(stderr, "crmsync: unknown flag %s: flags follow a command (crmsync run --full FILE)\n", name)
	} else {
		fmt.Fprintf(stderr, "crmsync: unknown command %q", name)
		if near := nearest(name, commandNames()); near != "" {
			fmt.Fprintf(stderr, " (did you mean %q?)", near)
		}
		fmt.Fprintln(stderr)
	}
	fmt.Fprintln(stderr, "Run 'crmsync --help' for the list of commands.")
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `crmsync: declarative CRM → PostgreSQL sync. One YAML file per CRM.

Usage: crmsync <command> [flags] [args]

Commands:
`)
	for _, n := range commandNames() {
		c := commands[n]
		fmt.Fprintf(w, "  %-10s %s\n", n, c.summary)
	}
	fmt.Fprint(w, `
Run 'crmsync <command> --help' for a command's flags; 'crmsync --version' for the version.
Exit codes: 0 ok, 1 failed (or lint problems), 2 usage or I/O error, 3 partial (records rejected).
`)
}

// stringsFlag collects a repeated flag.
type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }
