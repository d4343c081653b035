package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/diag"
	"gopkg.in/yaml.v3"
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

	findings diag.List
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
	d := &Document{File: file, values: map[string]Pos{}, keys: map[string]Pos{}}
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

// checkDuplicates reports keys given twice in one mapping: YAML parsers
// disagree on which wins, so the file must say it once.
func (d *Document) checkDuplicates(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, ok := seen[k.Value]; ok {
				d.findings = append(d.findings, diag.Finding{File: d.File, Line: k.Line, Column: k.Column,
					Severity: diag.Error, Code: "duplicate-key",
					Message: fmt.Sprintf("%s %q is defined twice (first at line %d)", describeKey(path), k.Value, first)})
			} else {
				seen[k.Value] = k.Line
			}
			d.checkDuplicates(n.Content[i+1], path+"/"+escape(k.Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.checkDuplicates(c, path+"/"+strconv.Itoa(i))
		}
	}
}

func describeKey(parent string) string {
	switch {
	case parent == "/entities":
		return "entity"
	case strings.HasSuffix(parent, "/fields"):
		return "field"
	case strings.HasSuffix(parent, "/children"):
		return "child table"
	case parent == "/environments":
		return "environment"
	}
	return "key"
}

// resolveAliases replaces alias nodes by copies of what they point at, so
// that positions and merges work on plain trees.
func resolveAliases(n *yaml.Node) {
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			cp := *c.Alias
			n.Content[i] = &cp
			c = &cp
		}
		resolveAliases(c)
	}
	// Merge keys (<<: *base) become ordinary keys, explicit keys winning.
	if n.Kind == yaml.MappingNode {
		var out []*yaml.Node
		var merged []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Tag == "!!merge" || (n.Content[i].Value == "<<" && n.Content[i].Style == 0) {
				src := n.Content[i+1]
				if src.Kind == yaml.MappingNode {
					merged = append(merged, src.Content...)
				}
				continue
			}
			out = append(out, n.Content[i], n.Content[i+1])
		}
		if merged != nil {
			have := map[string]bool{}
			for i := 0; i < len(out); i += 2 {
				have[out[i].Value] = true
			}
			for i := 0; i+1 < len(merged); i += 2 {
				if !have[merged[i].Value] {
					out = append(out, merged[i], merged[i+1])
					have[merged[i].Value] = true
				}
			}
			n.Content = out
		}
	}
}

// Lookup returns the child of a mapping node by key.
func Lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// applyProfile merges environments.<profile> over the document.
func (d *Document) applyProfile(profile string) {
	if profile == "" {
		return
	}
	envs := Lookup(d.Root, "environments")
	prof := Lookup(envs, profile)
	if prof == nil {
		var names []string
		if envs != nil && envs.Kind == yaml.MappingNode {
			for i := 0; i < len(envs.Content); i += 2 {
				names = append(names, envs.Content[i].Value)
			}
		}
		at := d.Root
		if envs != nil {
			at = envs
		}
		msg := fmt.Sprintf("environment profile %q is not defined", profile)
		if len(names) > 0 {
			msg += "; defined: " + strings.Join(names, ", ")
		} else {
			msg += "; the file has no environments: section"
		}
		d.findings = append(d.findings, diag.Finding{File: d.File, Line: at.Line, Column: at.Column,
			Severity: diag.Error, Code: "unknown-profile", Message: msg})
		return
	}
	if prof.Kind == yaml.MappingNode {
		mergeInto(d.Root, prof)
	}
}

// mergeInto overlays src onto dst: mappings merge key by key, anything
// else replaces. The overlay's nodes keep their own positions.
func mergeInto(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		found := false
		for j := 0; j+1 < len(dst.Content); j += 2 {
			if dst.Content[j].Value == k.Value {
				found = true
				if v.Kind == yaml.MappingNode && dst.Content[j+1].Kind == yaml.MappingNode {
					mergeInto(dst.Content[j+1], v)
				} else {
					dst.Content[j+1] = v
				}
				break
			}
		}
		if !found {
			dst.Content = append(dst.Content, k, v)
		}
	}
}

var interpRE = regexp.MustCompile(`\$\$|\$\{(env|file):([^}]*)\}`)

// interpolate replaces ${env:NAME}, ${env:NAME:-default} and ${file:PATH}
// in every scalar value ($$ is a literal $). It leaves the profiles it did
// not choose alone: their variables need not be set.
func (d *Document) interpolate(n *yaml.Node, path, dir string, opts Options) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := path + "/" + escape(n.Content[i].Value)
			if p == "/environments" {
				continue
			}
			d.interpolate(n.Content[i+1], p, dir, opts)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.interpolate(c, path+"/"+strconv.Itoa(i), dir, opts)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		changed := false
		out := interpRE.ReplaceAllStringFunc(n.Value, func(m string) string {
			if m == "$$" {
				changed = true
				return "$"
			}
			sub := interpRE.FindStringSubmatch(m)
			kind, arg := sub[1], sub[2]
			changed = true
			switch kind {
			case "env":
				name, def, hasDef := strings.Cut(arg, ":-")
				if !envNameRE.MatchString(name) {
					d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
						Severity: diag.Error, Code: "bad-interpolation",
						Message: fmt.Sprintf("${env:%s}: %q is not an environment variable name", arg, name)})
					return ""
				}
				if v, ok := opts.LookupEnv(name); ok && v != "" {
					return v
				}
				if hasDef {
					return def
				}
				d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
					Severity: envSeverity(opts), Code: "env-unset",
					Message: fmt.Sprintf("environment variable %s is not set and has no default (write ${env:%s:-default} to give one)", name, name)})
				return ""
			default: // file
				p := strings.TrimSpace(arg)
				if p == "" {
					d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
						Severity: diag.Error, Code: "bad-interpolation", Message: "${file:} needs a path"})
					return ""
				}
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				b, err := opts.ReadFile(p)
				if err != nil {
					msg := err.Error()
					if errors.Is(err, os.ErrNotExist) {
						msg = "no such file"
					}
					d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
						Severity: envSeverity(opts), Code: "file-unreadable",
						Message: fmt.Sprintf("${file:%s}: cannot read secret file: %s", arg, msg)})
					return ""
				}
				v := strings.TrimRight(string(b), "\r\n")
				d.Secrets = append(d.Secrets, v)
				return v
			}
		})
		if changed {
			if d.Interpolated == nil {
				d.Interpolated = map[string]bool{}
			}
			d.Interpolated[path] = true
			n.Value = out
			// "${env:RATE:-4}" is a number where a number goes, quoted or
			// not; where a string goes, the schema check accepts any
			// interpolated scalar as its text.
			n.Tag, n.Style = retag(out), 0
		}
	}
}

func envSeverity(o Options) diag.Severity {
	if o.StrictEnv {
		return diag.Error
	}
	return diag.Warning
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// retag gives an interpolated plain scalar the tag YAML would have given
// the text, so "${env:BATCH:-500}" is still a number.
func retag(s string) string {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode {
		return n.Content[0].Tag
	}
	return "!!str"
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
