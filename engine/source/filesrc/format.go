package filesrc

import (
	"fmt"
	"path"
	"strings"

	"github.com/crmsync/crmsync/engine/source"
)

// Format kinds, as written in format:.
const (
	CSV   = "csv"
	JSONL = "jsonl"
	JSON  = "json"
)

// Format is an entity's compiled reading settings: which files, and how
// the bytes of each become records. The github source compiles and uses
// the same value, so there is one parser for both.
type Format struct {
	Path     string // file, directory or glob, as written
	Kind     string // csv | jsonl | json; "" = decided by each file's name
	Required []string
	csv      csvOptions
}

type csvOptions struct {
	delim, quote, comment byte
	delimSet              bool // false: "," or a tab for .tsv names
	header                bool
	columns               []string
	skipRows              int
	encoding              string // canonical name, see encodings
}

// encodingSpellings lists the accepted spellings of csv.encoding, each
// with its canonical name, in the order the schema offers them.
var encodingSpellings = [][2]string{
	{"utf-8", "utf-8"}, {"utf8", "utf-8"},
	{"utf-16", "utf-16"}, {"utf16", "utf-16"},
	{"utf-16le", "utf-16le"}, {"utf-16be", "utf-16be"},
	{"windows-1252", "windows-1252"}, {"cp1252", "windows-1252"},
	{"latin-1", "latin-1"}, {"latin1", "latin-1"}, {"iso-8859-1", "latin-1"},
	{"iso-8859-15", "iso-8859-15"}, {"latin-9", "iso-8859-15"},
}

// encodings maps accepted spellings to canonical names.
var encodings = func() map[string]string {
	m := map[string]string{}
	for _, e := range encodingSpellings {
		m[e[0]] = e[1]
	}
	return m
}()

// Encodings lists the accepted spellings of csv.encoding (case and _
// for - do not matter), for the JSON Schema and the docs.
func Encodings() []string {
	out := make([]string, len(encodingSpellings))
	for i, e := range encodingSpellings {
		out[i] = e[0]
	}
	return out
}

// Formats are the values of format:.
var Formats = []string{CSV, JSONL, JSON}

// KindOf tells a file's format from its name (".csv", ".tsv", ".jsonl",
// ".ndjson", ".json", each optionally followed by ".gz"); "" when unknown.
func KindOf(name string) string {
	n := strings.TrimSuffix(strings.ToLower(name), ".gz")
	switch path.Ext(n) {
	case ".csv", ".tsv":
		return CSV
	case ".jsonl", ".ndjson":
		return JSONL
	case ".json":
		return JSON
	}
	return ""
}

// CompileFormat merges the entity's path, format and csv settings
// (spec.Entity.Settings, an *EntityConfig) over the source's src (csv
// field by field) and checks them without I/O.
func CompileFormat(spec *source.Spec, src *SourceConfig) (*Format, []source.Problem) {
	var probs []source.Problem
	bad := func(at, code, format string, args ...any) {
		probs = append(probs, source.Problem{Path: at, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if src == nil {
		src = &SourceConfig{}
	}
	ent := entityOf(spec)
	f := &Format{Path: src.Path, Kind: src.Format}
	pathAt, formatAt := "/source/path", "/source/format"
	if ent.Path != "" {
		f.Path, pathAt = ent.Path, spec.Path+"/path"
	}
	if ent.Format != "" {
		f.Kind, formatAt = ent.Format, spec.Path+"/format"
	}
	f.Kind = strings.ToLower(f.Kind)
	switch {
	case f.Path == "":
		bad(spec.Path+"/path", "missing-setting", "path is required: set it on the source or on the entity (a file, a directory or a glob such as data/*.csv)")
	case strings.ContainsAny(f.Path, "*?[") && !validGlob(f.Path):
		bad(pathAt, "invalid-value", "path %q is not a valid glob", f.Path)
	}
	switch f.Kind {
	case CSV, JSONL, JSON:
	case "":
		// A single named file must tell its format by its extension; a
		// glob or a directory is decided per file.
		if last := path.Base(f.Path); f.Path != "" && path.Ext(last) != "" && !strings.ContainsAny(last, "*?[") && KindOf(last) == "" {
			bad(formatAt, "missing-setting", "cannot tell the format of %q from its name: set format to csv, jsonl or json", f.Path)
		}
	default:
		bad(formatAt, "invalid-value", "format %q is unknown: want csv, jsonl or json", f.Kind)
	}

	// The format the files will have, as far as compiling can tell.
	kind := f.Kind
	if kind == "" {
		kind = KindOf(path.Base(f.Path))
	}
	csvAt := "/source/csv"
	if ent.CSV != nil {
		csvAt = spec.Path + "/csv"
	}
	if (src.CSV != nil || ent.CSV != nil) && kind != "" && kind != CSV {
		probs = append(probs, source.Problem{Path: csvAt, Code: "ignored-setting", Warning: true,
			Message: fmt.Sprintf("csv settings are ignored for format %s", kind)})
	}
	f.csv, probs = compileCSV(spec.Path, src.CSV, ent.CSV, probs)

	if spec.Entity != nil {
		f.Required = ent.RequiredColumns
		if len(f.Required) > 0 && kind != "" && kind != CSV {
			probs = append(probs, source.Problem{Path: spec.Path + "/required_columns", Code: "ignored-setting", Warning: true,
				Message: "required_columns checks a CSV header; it is ignored for format " + kind})
		}
		if len(f.csv.columns) > 0 {
			for _, r := range f.Required {
				if !contains(f.csv.columns, r) {
					bad(spec.Path+"/required_columns", "invalid-value", "required column %q is not among csv.columns", r)
				}
			}
		}
	}
	return f, probs
}

// compileCSV merges the entity's csv settings over the source's, field by
// field, and reports each bad value at the place it was written.
func compileCSV(entPath string, src, ent *CSVFormat, probs []source.Problem) (csvOptions, []source.Problem) {
	o := csvOptions{delim: ',', quote: '"', header: true, encoding: "utf-8"}
	bad := func(at, format string, args ...any) {
		probs = append(probs, source.Problem{Path: at, Code: "invalid-value", Message: fmt.Sprintf(format, args...)})
	}
	// pick returns the entity's value when set, else the source's, and where it came from.
	pick := func(get func(*CSVFormat) bool) (*CSVFormat, string) {
		if ent != nil && get(ent) {
			return ent, entPath + "/csv/"
		}
		if src != nil && get(src) {
			return src, "/source/csv/"
		}
		return nil, ""
	}
	if c, at := pick(func(c *CSVFormat) bool { return c.Delimiter != "" }); c != nil {
		if b, ok := oneChar(c.Delimiter); ok && b != '\r' && b != '\n' {
			o.delim, o.delimSet = b, true
		} else {
			bad(at+"delimiter", "delimiter %q must be one ASCII character such as \",\", \";\", \"|\" or \"\\t\" (a tab)", c.Delimiter)
		}
	}
	quoteAt := ""
	if c, at := pick(func(c *CSVFormat) bool { return c.Quote != "" }); c != nil {
		quoteAt = at + "quote"
		if strings.EqualFold(c.Quote, "none") {
			o.quote = 0
		} else if b, ok := oneChar(c.Quote); ok && b != '\r' && b != '\n' {
			o.quote = b
		} else {
			bad(quoteAt, "quote %q must be one ASCII character such as '\"' or \"'\", or none", c.Quote)
		}
	}
	if o.quote != 0 && o.quote == o.delim {
		bad(quoteAt, "quote and delimiter are both %q", string(o.delim))
	}
	if c, at := pick(func(c *CSVFormat) bool { return c.Comment != "" }); c != nil {
		b, ok := oneChar(c.Comment)
		switch {
		case !ok || b == '\r' || b == '\n':
			bad(at+"comment", "comment %q must be one ASCII character such as \"#\"", c.Comment)
		case b == o.delim || b == o.quote:
			bad(at+"comment", "comment %q is also the delimiter or the quote", c.Comment)
		default:
			o.comment = b
		}
	}
	if c, at := pick(func(c *CSVFormat) bool { return c.Columns != nil }); c != nil {
		o.columns = c.Columns
		o.header = false // explicit names: the file has no header unless header: true says so
		seen := map[string]bool{}
		for _, name := range o.columns {
			if seen[name] {
				bad(at+"columns", "column %q is listed twice", name)
			}
			seen[name] = true
		}
	}
	if c, _ := pick(func(c *CSVFormat) bool { return c.Header != nil }); c != nil {
		o.header = *c.Header
	}
	if c, at := pick(func(c *CSVFormat) bool { return c.SkipRows != 0 }); c != nil {
		if c.SkipRows < 0 {
			bad(at+"skip_rows", "skip_rows %d is negative", c.SkipRows)
		}
		o.skipRows = max(c.SkipRows, 0)
	}
	if c, at := pick(func(c *CSVFormat) bool { return c.Encoding != "" }); c != nil {
		name := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(c.Encoding)), "_", "-")
		if e, ok := encodings[name]; ok {
			o.encoding = e
		} else {
			bad(at+"encoding", "encoding %q is unknown: want utf-8, utf-16, utf-16le, utf-16be, windows-1252, latin-1 or iso-8859-15", c.Encoding)
		}
	}
	return o, probs
}

// oneChar reads a one-character setting; "\t" may be written as a real
// tab, as the two characters \t, or as the word tab.
func oneChar(s string) (byte, bool) {
	switch s {
	case `\t`, "tab", "TAB":
		return '\t', true
	}
	if len(s) == 1 && s[0] < 0x80 {
		return s[0], true
	}
	return 0, false
}

// kindFor is the format of one file: the configured one, else its name's.
func (f *Format) kindFor(name string) (string, error) {
	if f.Kind != "" {
		return f.Kind, nil
	}
	if k := KindOf(name); k != "" {
		return k, nil
	}
	return "", fmt.Errorf("cannot tell the format of %q from its name: set format to csv, jsonl or json", name)
}

func validGlob(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
