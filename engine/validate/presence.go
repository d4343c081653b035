package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode"
	"unicode/utf8"
)

var (
	errRequired = errors.New("value is required")
	errEmpty    = errors.New("must not be empty")
)

func init() {
	Register(Info{
		Name:    "required",
		Passes:  "any value that is not null (also `\"\"`)",
		Keeps:   "the value",
		Message: "`value is required`",
		Doc:     "a value is present (not null); the empty string passes, see not_empty",
		Arg:     "none",
		NilOK:   true,
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return funcValidator(validateRequired), nil
	})
	Register(Info{
		Name:    "not_empty",
		Passes:  "not null, not blank text (Unicode spaces only), not an empty list, not JSON `null`, `\"\"`, `[]`, `{}`",
		Keeps:   "the value",
		Message: "`must not be empty`",
		Doc:     "a value with content: not null, not blank text, not an empty list or JSON null, [], {} or \"\"",
		Arg:     "none",
		NilOK:   true,
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return funcValidator(validateNotEmpty), nil
	})
}

func validateRequired(v any) (any, error) {
	if v == nil {
		return nil, errRequired
	}
	return v, nil
}

func validateNotEmpty(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, errEmpty
	case string:
		if isBlank(x) {
			return v, errEmpty
		}
	case []string:
		if len(x) == 0 {
			return v, errEmpty
		}
	case json.RawMessage:
		if isEmptyJSON(x) {
			return v, errEmpty
		}
	}
	return v, nil
}

// isBlank reports whether s has only Unicode white space (or nothing).
func isBlank(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			return false
		}
		i += n
	}
	return true
}

// isEmptyJSON reports whether raw JSON is nothing, null, "", [] or {}
// (blanks between the brackets allowed).
func isEmptyJSON(raw []byte) bool {
	t := bytes.TrimSpace(raw)
	switch string(t) {
	case "", "null", `""`:
		return true
	}
	n := len(t)
	return n >= 2 && (t[0] == '[' && t[n-1] == ']' || t[0] == '{' && t[n-1] == '}') &&
		len(bytes.TrimSpace(t[1:n-1])) == 0
}
