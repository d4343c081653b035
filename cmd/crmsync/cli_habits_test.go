package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/schema"
)

// TestHelpOnStdout: every command's --help and -h print its usage on
// stdout (so | less shows it) and exit 0, and spell every flag the
// command parses as --flag, never -flag.
func TestHelpOnStdout(t *testing.T) {
	singleDash := regexp.MustCompile(`(?m)^\s+-[a-z]`)
	for _, name := range commandNames() {
		fs := flagsOf(commands[name])
		if fs == nil {
			t.Errorf("%s: parses no flag set (its --help goes nowhere)", name)
			continue
		}
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			var out, errb bytes.Buffer
			if code := run(args, &out, &errb); code != exitOK {
				t.Errorf("%v: exit %d, want 0", args, code)
			}
			if errb.Len() != 0 {
				t.Errorf("%v: wrote to stderr: %q", args, errb.String())
			}
			if !strings.HasPrefix(out.String(), "Usage: crmsync "+name) {
				t.Errorf("%v: stdout does not start with the usage:\n%s", args, out.String())
			}
			if singleDash.MatchString(strings.ReplaceAll(out.String(), "-h, --help", "--help")) {
				t.Errorf("%v: help spells a flag -flag:\n%s", args, out.String())
			}
			for _, f := range flagNames(fs) {
				if !strings.Contains(out.String(), "--"+f+" ") && !strings.Contains(out.String(), "--"+f+"\n") {
					t.Errorf("%v: help lacks --%s:\n%s", args, f, out.String())
				}
			}
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "completion") {
		t.Errorf("crmsync --help: exit %d, stdout %q", code, out.String())
	}
	// schema --help is help, not the schema.
	out.Reset()
	run([]string{"schema", "--help"}, &out, &errb)
	if strings.Contains(out.String(), "$schema") {
		t.Errorf("schema --help printed the schema")
	}
	// No command at all is a usage error: the list, on stderr.
	out.Reset()
	errb.Reset()
	if code := run(nil, &out, &errb); code != exitUsage || out.Len() != 0 || !strings.Contains(errb.String(), "Commands:") {
		t.Errorf("crmsync alone: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// TestDidYouMean: a mistyped command or flag exits 2 and names the
// nearest one; one far from every name gets no guess.
func TestDidYouMean(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"hisotry"}, `crmsync: unknown command "hisotry" (did you mean "history"?)`},
		{[]string{"rn", "x.yaml"}, `(did you mean "run"?)`},
		{[]string{"help", "serv"}, `(did you mean "serve"?)`},
		{[]string{"frobnicate"}, "unknown command \"frobnicate\"\n"},
		{[]string{"run", "--ful", "x.yaml"}, "crmsync run: unknown flag --ful (did you mean --full?)"},
		{[]string{"run", "x.yaml", "--dyr-run"}, "unknown flag --dyr-run (did you mean --dry-run?)"},
		{[]string{"history", "--limt", "3"}, "unknown flag --limt (did you mean --limit?)"},
		{[]string{"serve", "--adr", ":0"}, "unknown flag --adr (did you mean --addr?)"},
		{[]string{"lint", "--zzzzzz", "x"}, "unknown flag --zzzzzz\n"},
		{[]string{"run", "--batch-size", "many", "x.yaml"}, `invalid value "many" for flag --batch-size`},
		{[]string{"run", "x.yaml", "--dest"}, "flag needs an argument: --dest"},
		{[]string{"--full"}, "unknown flag --full: flags follow a command"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", c.args, c.want, errb.String())
		}
		if regexp.MustCompile(`(^|[ (])-[a-z]`).MatchString(errb.String()) {
			t.Errorf("%v: stderr spells a flag -flag:\n%s", c.args, errb.String())
		}
	}
}

// TestCompletion: the scripts list every command and each command's
// flags (from the flag sets the commands parse); the bash one is driven
// in a real bash as the shell would call it, zsh and fish are checked
// by those shells when installed.
func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	scripts := map[string]string{}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		var out, errb bytes.Buffer
		if code := run([]string{"completion", sh}, &out, &errb); code != exitOK {
			t.Fatalf("completion %s: exit %d: %s", sh, code, errb.String())
		}
		for _, name := range commandNames() {
			if !strings.Contains(out.String(), name) {
				t.Errorf("%s script lacks the command %s", sh, name)
			}
		}
		for _, f := range []string{"dry-run", "max-records", "default-schedule", "fixtures"} {
			if !strings.Contains(out.String(), f) {
				t.Errorf("%s script lacks the flag %s", sh, f)
			}
		}
		file := filepath.Join(dir, "crmsync."+sh)
		os.WriteFile(file, out.Bytes(), 0o644)
		scripts[sh] = file
	}
	var out, errb bytes.Buffer
	if code := run([]string{"completion", "tcsh"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), `unknown shell "tcsh"`) {
		t.Errorf("completion tcsh: exit %d, %s", code, errb.String())
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	complete := func(words ...string) string {
		t.Helper()
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+w+"'")
		}
		script := `source "$1"; COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _crmsync; echo "${COMPREPLY[*]}"`
		cmd := exec.Command(bash, "--norc", "-c", script, "bash", scripts["bash"])
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v: %s", err, b)
		}
		return strings.TrimSpace(string(b))
	}
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"crmsync", "hist"}, "history"},
		{[]string{"crmsync", "re"}, "rejects resume"},
		{[]string{"crmsync", "run", "--dr"}, "--dry-run"},
		{[]string{"crmsync", "serve", "--max-"}, "--max-concurrent"},
		{[]string{"crmsync", "test", "--fi"}, "--fixtures"},
		{[]string{"crmsync", "completion", "z"}, "zsh"},
		{[]string{"crmsync", "lint", "crmsync.b"}, "crmsync.bash"}, // a file
	} {
		if got := complete(c.words...); got != c.want {
			t.Errorf("completing %v: got %q, want %q", c.words, got, c.want)
		}
	}
	for _, sh := range []string{"zsh", "fish"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			t.Logf("%s is not installed: its script is not checked by the shell", sh)
			continue
		}
		if b, err := exec.Command(path, "-n", scripts[sh]).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v: %s", sh, err, b)
		}
	}
}

func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// TestSchemaWrite: schema --write makes the folder, writes the schema the
// binary checks against, and says what to put on a pipeline's first line.
func TestSchemaWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "editor", ".crmsync")
	var out, errb bytes.Buffer
	if code := run([]string{"schema", "--write", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got, err := os.ReadFile(filepath.Join(dir, "pipeline.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, schema.JSON) {
		t.Errorf("wrote %d bytes, not the embedded schema (%d bytes)", len(got), len(schema.JSON))
	}
	if !strings.Contains(out.String(), "# yaml-language-server: $schema=") {
		t.Errorf("schema --write did not print the modeline:\n%s", out.String())
	}
	// A file in the way of the folder is an error, not a silent success.
	blocked := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocked, []byte("x"), 0o644)
	out.Reset()
	errb.Reset()
	if code := run([]string{"schema", "--write", blocked}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "file") {
		t.Errorf("schema --write over a file: exit %d, %q", code, errb.String())
	}
}
