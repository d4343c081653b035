// Package exprfn holds the functions pipeline expressions can call, for
// github.com/expr-lang/expr.
//
// Every function is nil-tolerant: a nil value argument gives nil (or the
// documented neutral answer: false for predicates, "" for concat), never a
// panic, because most CRM fields are empty on most records. Bad input that
// is not nil (an invalid regexp, text that is not a date) is a runtime
// error naming the function.
//
// Signatures are declared so the checker knows arity and result types.
// Value parameters are declared any: the environment may type a field as
// nil, string or int64, and all of them must compile. Results are typed
// where that is safe; a function that may return nil in place of a string
// or a number declares any, because expr compiles `f(x) == "a"` between
// two string-typed operands to a bare type assertion that fails on nil.
//
// trim, upper, lower, split, join, concat and round replace expr's
// built-ins of the same name with nil-tolerant versions (split also trims
// parts and drops empty ones; round takes decimal places; concat joins
// text, or lists when every argument is a list).
package exprfn

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/shopspring/decimal"
)

type function struct {
	name   string
	impl   func(args ...any) (any, error)
	sigs   []any
	hidden bool // operator helpers, not listed by Names
}

var (
	registry []function
	options  = sync.OnceValue(buildOptions)
)

// register adds a function; each file registers its own from init.
func register(name string, impl func(args ...any) (any, error), sigs ...any) {
	registry = append(registry, function{name: name, impl: impl, sigs: sigs})
}

// Options registers every function (and the decimal operators) with an
// expr compilation: expr.Compile(src, append(exprfn.Options(), expr.Env(env))...).
func Options() []expr.Option {
	return slices.Clone(options())
}

func buildOptions() []expr.Option {
	opts := make([]expr.Option, 0, len(registry)+len(decimalOperators))
	for _, f := range registry {
		opts = append(opts, expr.Function(f.name, f.impl, f.sigs...))
	}
	for _, op := range decimalOperators {
		opts = append(opts, expr.Operator(op.operator, op.function))
	}
	return opts
}

// Names lists the functions a pipeline may call, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for _, f := range registry {
		if !f.hidden {
			names = append(names, f.name)
		}
	}
	slices.Sort(names)
	return names
}

// text gives the text of a scalar: strings as they are, numbers in plain
// notation, booleans as true/false, times in RFC 3339 (UTC). ok is false
// for nil and for lists and maps.
func text(v any) (s string, ok bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case float64:
		return formatFloat(x), true
	case json.Number:
		return string(x), true
	case decimal.Decimal:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	}
	return "", false
}

// textArg is text for an argument that must be a scalar: nil stays nil
// (isNil true), a list or map is an error.
func textArg(fn string, v any) (s string, isNil bool, err error) {
	if v == nil {
		return "", true, nil
	}
	if s, ok := text(v); ok {
		return s, false, nil
	}
	return "", false, fmt.Errorf("%s: want text, got %T", fn, v)
}

func formatFloat(f float64) string {
	if a := math.Abs(f); a == 0 || a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// intArg reads a count such as left's n: an int, int64 or whole float.
func intArg(fn string, v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case int32:
		return int(x), nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<31 {
			return int(x), nil
		}
	}
	return 0, fmt.Errorf("%s: want a whole number, got %T", fn, v)
}

// stringArg reads a setting (separator, pattern, layout) that must be text.
func stringArg(fn string, v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("%s: want a string, got %T", fn, v)
}
