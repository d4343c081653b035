// Package diag holds lint findings: a problem found in a pipeline file,
// with its position, severity and a stable code that CI and editors key on.
package diag

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Severity of a finding.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Finding is one problem at one place in one file.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Message  string   `json:"message"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s [%s]", f.File, f.Line, f.Column, f.Severity, f.Message, f.Code)
}

// List collects findings.
type List []Finding

// HasErrors reports whether any finding is an error.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(f Finding) bool { return f.Severity == Error })
}

// Errors returns the findings that are errors.
func (l List) Errors() List {
	var out List
	for _, f := range l {
		if f.Severity == Error {
			out = append(out, f)
		}
	}
	return out
}

// Sort orders findings by file, line, column, then code and message, and
// drops exact duplicates.
func (l List) Sort() List {
	slices.SortStableFunc(l, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Message, b.Message))
	})
	return slices.Compact(l)
}

// Error makes the list usable as an error: one finding a line.
func (l List) Error() string {
	s := ""
	for i, f := range l {
		if i > 0 {
			s += "\n"
		}
		s += f.String()
	}
	return s
}

// WriteText writes one finding a line, as path:line:col: severity: message [code].
func (l List) WriteText(w io.Writer) error {
	for _, f := range l {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the findings as a JSON array (never null).
func (l List) WriteJSON(w io.Writer) error {
	if l == nil {
		l = List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(l)
}
