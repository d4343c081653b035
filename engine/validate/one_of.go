package validate

import (
	"errors"
	"fmt"
	"strings"
)

func init() {
	Register(Info{
		Name:    "one_of",
		Passes:  "a listed value, compared exactly (case-sensitive, no trimming); numbers and booleans compare by their text (`[1, 2]` accepts `2` and `\"2\"`). With `ignore_case`, any case",
		Keeps:   "with `ignore_case`, the listed spelling (`WON` → `won`)",
		Message: "`must be one of: new, open, won` (the first ten, then `(and N more)`)",
		Doc:     "a value from a list (exact, case-sensitive); with ignore_case the listed spelling is kept; every item of a list value must be listed",
		Arg:     "a list of values, or {values: [...], ignore_case: true}",
	}, newOneOf)
}

type oneOf struct {
	index      map[string]int // exact text, or lower-cased text with ignore_case
	boxed      []any          // listed spellings, boxed once
	ignoreCase bool
	err        error
	check      checkFunc
}

var _ Validator = (*oneOf)(nil)

func newOneOf(arg any) (Validator, error) {
	list, isList := arg.([]any)
	o := &oneOf{index: map[string]int{}}
	if m, ok := arg.(map[string]any); ok {
		if err := mapArg(m, "values", "ignore_case"); err != nil {
			return nil, err
		}
		list, isList = m["values"].([]any)
		if ic, set := m["ignore_case"]; set {
			b, ok := ic.(bool)
			if !ok {
				return nil, fmt.Errorf("ignore_case must be true or false, got %s", show(ic))
			}
			o.ignoreCase = b
		}
	}
	if !isList || len(list) == 0 {
		return nil, fmt.Errorf("argument must be a non-empty list of values or {values: [...], ignore_case: true}, got %s", show(arg))
	}
	shown := make([]string, 0, min(len(list), 10))
	for _, item := range list {
		var s string
		switch item.(type) {
		case nil, []any, map[string]any:
			return nil, fmt.Errorf("list values must be text, numbers or booleans, got %s", show(item))
		default:
			s, _ = textOf(item)
		}
		key := o.key(s)
		if _, dup := o.index[key]; dup {
			continue
		}
		o.index[key] = len(o.boxed)
		o.boxed = append(o.boxed, s)
		if len(shown) < 10 {
			shown = append(shown, s)
		}
	}
	msg := "must be one of: " + strings.Join(shown, ", ")
	if n := len(o.boxed) - len(shown); n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	o.err = errors.New(msg)
	o.check = func(s string) (string, error) {
		i, ok := o.index[o.key(s)]
		if !ok {
			return s, o.err
		}
		return o.boxed[i].(string), nil
	}
	return o, nil
}

func (o *oneOf) key(s string) string {
	if o.ignoreCase {
		return strings.ToLower(s)
	}
	return s
}

// Validate returns the listed spelling (which differs from the value only
// with ignore_case); numbers and booleans are compared by their text and
// kept as they are. The empty string is no value and passes.
func (o *oneOf) Validate(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return v, nil
		}
		i, ok := o.index[o.key(x)]
		if !ok {
			return v, o.err
		}
		if o.boxed[i].(string) == x {
			return v, nil
		}
		return o.boxed[i], nil
	case []string:
		return eachString(v, o.check, nil)
	}
	s, ok := textOf(v)
	if !ok {
		return v, o.err
	}
	if _, found := o.index[o.key(s)]; !found {
		return v, o.err
	}
	return v, nil
}
