package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// parseArgs parses flags wherever they stand among the positional
// arguments (crmsync run pipelines/ --full). It returns the positional
// arguments, or ok=false and the exit code: 0 for --help (the usage is
// printed on stdout), 2 for a bad flag (a message on the flag set's
// output, stderr, with the nearest flag when one is close).
//
// fs.Usage must write to fs.Output(): parseArgs points it at stdout for
// --help and back at stderr after.
func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer) (pos []string, code int, ok bool) {
	stderr := fs.Output()
	if len(args) == 1 && args[0] == probeArg {
		probed.fs = fs
		return nil, exitOK, false
	}
	fs.SetOutput(io.Discard) // the flag package's own messages say -flag
	defer fs.SetOutput(stderr)
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.Usage()
				return nil, exitOK, false
			}
			fmt.Fprintf(stderr, "crmsync %s: %s\n", fs.Name(), flagError(fs, err))
			fmt.Fprintf(stderr, "Run 'crmsync %s --help' for its flags.\n", fs.Name())
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, exitOK, true
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// flagError rewrites the flag package's messages with the --flag
// spelling the help and the docs use, and suggests the nearest flag
// for an unknown one.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		name = strings.TrimLeft(name, "-")
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		s := fmt.Sprintf("unknown flag --%s", name)
		if near := nearest(name, names); near != "" {
			s += fmt.Sprintf(" (did you mean --%s?)", near)
		}
		return s
	}
	for _, pre := range []string{"flag needs an argument: -", "bad flag syntax: -"} {
		if rest, ok := strings.CutPrefix(msg, pre); ok {
			return pre + "-" + strings.TrimLeft(rest, "-")
		}
	}
	// invalid value "x" for flag -batch-size: parse error
	if i := strings.Index(msg, " for flag -"); i >= 0 {
		return msg[:i] + " for flag --" + msg[i+len(" for flag -"):]
	}
	return msg
}

// printFlags writes a flag set's flags as --name VALUE  usage (default …),
// in the spelling the docs use (flag.PrintDefaults writes -name).
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if value != "" {
			left += " " + value
		}
		if !zeroDefault(f.DefValue) {
			if value == "string" || strings.Contains(f.DefValue, " ") {
				usage += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				usage += fmt.Sprintf(" (default %s)", f.DefValue)
			}
		}
		rows = append(rows, row{left, usage})
		width = max(width, utf8.RuneCountInString(left))
	})
	width = min(max(width, len("-h, --help")), 28)
	fmt.Fprintln(w, "\nFlags:")
	for _, r := range rows {
		if n := utf8.RuneCountInString(r.left); n > width {
			fmt.Fprintf(w, "  %s\n  %s  %s\n", r.left, strings.Repeat(" ", width), r.usage)
		} else {
			fmt.Fprintf(w, "  %s%s  %s\n", r.left, strings.Repeat(" ", width-n), r.usage)
		}
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "-h, --help", "print this help")
}

// zeroDefault: a default not worth printing (-1 is "not set" in crmsync's flags).
func zeroDefault(v string) bool {
	switch v {
	case "", "0", "false", "-1", "0s", "[]":
		return true
	}
	return false
}

// nearest is the candidate closest to s (edits, transpositions counted
// as one), or "" when none is close enough to be what was meant.
func nearest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if strings.HasPrefix(c, s) && len(s) >= 3 {
			d = min(d, 1)
		}
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	limit := max(1, min(3, (utf8.RuneCountInString(s)+1)/3))
	if bestD <= limit {
		return best
	}
	return ""
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and adjacent transpositions.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

// probeArg, passed alone to a command, makes parseArgs hand back the
// command's flag set instead of running it: completion scripts and the
// flag tests are generated from the very flag sets the commands parse.
const probeArg = "\x00crmsync-flags"

var probed struct {
	sync.Mutex
	fs *flag.FlagSet
}

// flagsOf is the flag set a command parses (nil for one without flags).
func flagsOf(c command) *flag.FlagSet {
	probed.Lock()
	defer probed.Unlock()
	probed.fs = nil
	c.run([]string{probeArg}, io.Discard, io.Discard)
	return probed.fs
}

// commandNames is every command, sorted.
func commandNames() []string {
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
