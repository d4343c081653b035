package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/diag"
	"go.yaml.in/yaml/v3"
)

// Pos is a position in a file, 1-based.
type Pos struct{ Line, Column int }

// Document is a parsed pipeline file: the YAML tree with every node's
// position, after the chosen profile, interpolation and environment
// overrides have been applied to it.
type Document struct {
	File string
	Root *yaml.Node // the top-level mapping

	values map[string]Pos // JSON pointer → position of the value
	keys   map[string]Pos // JSON pointer → position of the key naming it
	// Overrides from <PIPELINE>_<SETTING> environment variables.
	Overrides Overrides
	// Secrets holds every value that came from ${file:…} or that sits in a
	// secret setting, so that later code can redact them from any text.
	Secrets []string
	// Interpolated holds the JSON pointers of values that came from ${…}.
	Interpolated map[string]bool

	findings      diag.List
	settingsTypes func(string) (reflect.Type, reflect.Type, bool)
}

// Overrides are settings taken from the environment, applied over the file.
type Overrides struct {
	BatchSize        int
	MaxRecords       *int
	StrictValidation *bool
}

// Options control loading.
type Options struct {
	// Profile names an entry of environments: to apply (--env).
	Profile string
	// LookupEnv reads the environment; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
	// ReadFile reads ${file:…} paths; os.ReadFile when nil. Relative paths
	// are taken from the pipeline file's folder.
	ReadFile func(string) ([]byte, error)
	// StrictEnv: an unset variable without a default, or an unreadable
	// ${file:…}, is an error instead of a warning.
	StrictEnv bool
	// SettingsTypes returns the Go types a source type's settings and its
	// entities' own settings decode into (the kind registry knows them;
	// config does not import the kinds). Secret settings are found by
	// their type through it.
	SettingsTypes func(sourceType string) (source, entity reflect.Type, ok bool)
}

// Findings returns what parsing found so far.
func (d *Document) Findings() diag.List { return d.findings }

// Addf records a finding at the value of path (or the nearest enclosing
// node that exists).
func (d *Document) Addf(path string, sev diag.Severity, code, format string, args ...any) {
	p := d.PosOf(path)
	d.findings = append(d.findings, diag.Finding{File: d.File, Line: p.Line, Column: p.Column,
		Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
}

// AddKeyf records a finding at the key that names path.
func (d *Document) AddKeyf(path string, sev diag.Severity, code, format string, args ...any) {
	p, ok := d.keys[path]
	if !ok {
		p = d.PosOf(path)
	}
	d.findings = append(d.findings, diag.Finding{File: d.File, Line: p.Line, Column: p.Column,
		Severity: sev, Code: code, Message: fmt.Sprintf(format, args...)})
}

// AddAt records a finding at a position.
func (d *Document) AddAt(p Pos, sev diag.Severity, code, msg string) {
	d.findings = append(d.findings, diag.Finding{File: d.File, Line: p.Line, Column: p.Column, Severity: sev, Code: code, Message: msg})
}

// Node returns the YAML node at a JSON pointer, or nil.
func (d *Document) Node(path string) *yaml.Node {
	n := d.Root
	for _, t := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if t == "" {
			continue
		}
		t = strings.NewReplacer("~1", "/", "~0", "~").Replace(t)
		switch n.Kind {
		case yaml.MappingNode:
			n = Lookup(n, t)
		case yaml.SequenceNode:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
		if n == nil {
			return nil
		}
	}
	return n
}

// PosOf returns the position of path's value, or of its closest ancestor.
func (d *Document) PosOf(path string) Pos {
	for {
		if p, ok := d.values[path]; ok {
			return p
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return Pos{1, 1}
		}
		path = path[:i]
	}
}

// Has reports whether the document has a node at path.
func (d *Document) Has(path string) bool { _, ok := d.values[path]; return ok }

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?`)

// Parse reads a pipeline file into a Document. Problems are collected as
// findings; a nil Document means the file could not be parsed at all.
func Parse(file string, data []byte, opts Options) *Document {
	d := &Document{File: file, values: map[string]Pos{}, keys: map[string]Pos{}, settingsTypes: opts.SettingsTypes}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, col := 1, 1
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			if m[2] != "" {
				col, _ = strconv.Atoi(m[2])
			}
			msg = strings.TrimSpace(strings.TrimPrefix(strings.Replace(msg, m[0], "", 1), ":"))
			if bad := firstBadLine(data); bad > line {
				line = bad
			}
			if m[2] == "" || line != atoiOr(m[1]) {
				col = firstColumn(data, line)
			}
		} else if bad := firstBadLine(data); bad > 1 {
			// No position in the message (an unknown anchor, bad UTF-8).
			line, col = bad, firstColumn(data, bad)
		}
		d.findings = append(d.findings, diag.Finding{File: file, Line: line, Column: col,
			Severity: diag.Error, Code: "yaml-syntax", Message: "invalid YAML: " + msg})
		return d
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		d.findings = append(d.findings, diag.Finding{File: file, Line: 1, Column: 1,
			Severity: diag.Error, Code: "empty-file", Message: "the file is empty: a pipeline needs version, name, source and entities"})
		return d
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		d.findings = append(d.findings, diag.Finding{File: file, Line: top.Line, Column: top.Column,
			Severity: diag.Error, Code: "wrong-type", Message: "a pipeline file is a mapping of settings (version, name, source, entities)"})
		return d
	}
	d.Root = top
	resolveAliases(top)
	d.checkDuplicates(top, "")
	d.applyProfile(opts.Profile)
	d.interpolate(top, "", filepath.Dir(file), opts)
	d.applyOverrides(opts.LookupEnv)
	d.index(top, "")
	return d
}

// index records the position of every node by JSON pointer.
func (d *Document) index(n *yaml.Node, path string) {
	d.values[path] = Pos{n.Line, n.Column}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := path + "/" + escape(k.Value)
			if _, dup := d.keys[p]; dup {
				continue // a duplicate key: the first one is the one reported on
			}
			d.keys[p] = Pos{k.Line, k.Column}
			d.index(n.Content[i+1], p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.index(c, path+"/"+strconv.Itoa(i))
		}
	}
}

func escape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// Escape makes s one token of a JSON pointer.
func Escape(s string) string { return escape(s) }

// firstBadLine finds the line that breaks the file: the one after the
// longest prefix of lines that parses. yaml.v3 reports some errors (a key
// indented wrongly) at the line where the enclosing block starts, and
// others one line early (a parser error's 0-based mark); the line that
// breaks it is the one a user needs. Prefixes do not parse in order: one
// cut inside a flow list that spans lines fails though the lines are
// fine, so a bisection can stop at such a cut, before the real error. The
// longest parsing prefix is searched from the end instead (a bisection
// for very long files). 0 when every prefix parses.
func firstBadLine(data []byte) int {
	ends := []int{0} // ends[n]: the length of the first n lines
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	ends = append(ends, len(data))
	lines := ends[1:]
	parses := func(n int) bool {
		var v yaml.Node
		return yaml.Unmarshal(data[:ends[n]], &v) == nil
	}
	if parses(len(lines)) {
		return 0
	}
	if len(lines) <= 2000 {
		for n := len(lines) - 1; n > 0; n-- {
			if parses(n) {
				return n + 1
			}
		}
		return 1
	}
	lo, hi := 0, len(lines) // a prefix of lo lines parses; one of hi lines does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if parses(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// firstColumn is the column of the first non-blank character of a line.
func firstColumn(data []byte, line int) int {
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return 1
	}
	return len(lines[line-1]) - len(strings.TrimLeft(lines[line-1], " ")) + 1 // a tab is itself a YAML error
}

func atoiOr(s string) int { n, _ := strconv.Atoi(s); return n }

// Paths lists the JSON pointers of every value in the document, sorted.
func (d *Document) Paths() []string {
	out := make([]string, 0, len(d.values))
	for p := range d.values {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// IsSecretPath reports whether a JSON pointer names a secret setting: a
// setting of the source's kind (or of an entity's) whose Go type is
// Secret, such as the sql dsn, the github token, the credentials of http
// auth (api key headers and query values included).
func (d *Document) IsSecretPath(p string) bool {
	if d.settingsTypes == nil {
		return false
	}
	typ := Lookup(Lookup(d.Root, "source"), "type")
	if typ == nil || typ.Kind != yaml.ScalarNode {
		return false
	}
	src, ent, ok := d.settingsTypes(typ.Value)
	if !ok {
		return false
	}
	tokens := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case len(tokens) > 1 && tokens[0] == "source":
		return SecretAt(src, tokens[1:])
	case len(tokens) > 2 && tokens[0] == "entities":
		return SecretAt(ent, tokens[2:])
	}
	return false
}
