// Package validate holds the validator registry and every validator of the
// pipeline language (`validate: [required, email, {min_length: 2}]`).
//
// A validator is built once, when the pipeline compiles, from its name and
// the argument decoded from YAML; it then checks converted values on the
// record path. Validators never see nil unless their Info says NilOK, and
// every validator but required and not_empty lets the empty string through
// unchanged: emptiness is what required and not_empty are for, as in the
// blueprint's BaseValidator. Chains, logging and on_invalid belong to the
// caller. Built validators are immutable and safe for concurrent use.
package validate

import (
	"fmt"
	"github.com/crmsync/crmsync/engine/diag"
	"slices"
	"strings"
	"sync"
)

// Validator checks one converted value.
type Validator interface {
	// Validate checks v and returns the value to keep (possibly normalised,
	// e.g. state name → code).
	Validate(v any) (any, error)
}

// Factory builds a validator from its YAML argument: nil, string, int,
// float64, bool, time.Time, []any or map[string]any.
type Factory func(arg any) (Validator, error)

// Info describes a validator for lint, docs and the JSON Schema.
type Info struct {
	Name  string
	Doc   string // one line: what passes
	Arg   string // what the argument is: "none", "a number", ...
	NilOK bool   // the validator is called with nil values too

	// For the generated reference (docs/reference/validators.md), in Markdown:
	Passes  string // what passes, with examples (Doc when empty)
	Keeps   string // what the chain goes on with when the value passes
	Message string // the error text when it fails, as the log and the rejects show it
}

type entry struct {
	info    Info
	factory Factory
}

var (
	mu       sync.RWMutex
	registry = map[string]entry{}
)

// Register makes a validator available by name. It panics on a duplicate.
func Register(info Info, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if info.Name == "" || f == nil {
		panic("validate: Register called with an empty name or nil factory")
	}
	if _, dup := registry[info.Name]; dup {
		panic("validate: Register called twice for " + info.Name)
	}
	registry[info.Name] = entry{info, f}
}

// Lookup returns the description of a validator.
func Lookup(name string) (Info, bool) {
	mu.RLock()
	defer mu.RUnlock()
	e, ok := registry[name]
	return e.info, ok
}

// Names lists every registered validator, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// AcceptsNil reports whether the validator wants nil values too.
func AcceptsNil(name string) bool {
	info, ok := Lookup(name)
	return ok && info.NilOK
}

// Build makes a validator from its name and argument. An unknown name
// gives an *UnknownError; a bad argument an error saying what it must be.
func Build(name string, arg any) (Validator, error) {
	mu.RLock()
	e, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, &UnknownError{Name: name, Suggestion: suggest(name, Names())}
	}
	v, err := e.factory(arg)
	if err != nil {
		return nil, fmt.Errorf("validator %q: %w", name, err)
	}
	return v, nil
}

// UnknownError is the error of Build for a name nobody registered.
type UnknownError struct {
	Name       string
	Suggestion string // closest registered name, "" when none is close
}

func (e *UnknownError) Error() string {
	if e.Suggestion != "" {
		return fmt.Sprintf("unknown validator %q (did you mean %q?)", e.Name, e.Suggestion)
	}
	return fmt.Sprintf("unknown validator %q", e.Name)
}

// suggest returns the closest name at edit distance 1, else a name the
// input begins, else the closest at distance 2, else the longest name the
// input begins with, else "".
func suggest(name string, names []string) string {
	low := strings.ToLower(strings.TrimSpace(name))
	if low == "" {
		return ""
	}
	best, bestD := "", 3
	for _, n := range names {
		if d := diag.Levenshtein(low, n); d < bestD {
			best, bestD = n, d
		}
	}
	if bestD <= 1 {
		return best
	}
	for _, n := range names {
		if strings.HasPrefix(n, low) {
			return n
		}
	}
	if best != "" {
		return best
	}
	for _, n := range names {
		if strings.HasPrefix(low, n) && len(n) > len(best) {
			best = n
		}
	}
	return best
}

// funcValidator adapts a plain function to Validator.
type funcValidator func(v any) (any, error)

func (f funcValidator) Validate(v any) (any, error) { return f(v) }

var _ Validator = funcValidator(nil)
