package validate

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// show renders a YAML argument in an error message.
func show(arg any) string {
	switch a := arg.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("%q", a)
	case time.Time:
		return a.Format(time.RFC3339)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", arg)
}

func noArg(arg any) error {
	if arg != nil {
		return fmt.Errorf("takes no argument, got %s", show(arg))
	}
	return nil
}

// countArg reads a non-negative whole number (a length).
func countArg(arg any) (int, error) {
	bad := fmt.Errorf("argument must be a non-negative whole number, got %s", show(arg))
	switch a := arg.(type) {
	case int:
		if a >= 0 {
			return a, nil
		}
	case int64:
		if a >= 0 && a <= math.MaxInt32 {
			return int(a), nil
		}
	case uint64:
		if a <= math.MaxInt32 {
			return int(a), nil
		}
	case float64:
		if a >= 0 && a <= math.MaxInt32 && a == math.Trunc(a) {
			return int(a), nil
		}
	}
	return 0, bad
}

// mapArg checks that a mapping argument has only known keys.
func mapArg(m map[string]any, keys ...string) error {
	for k := range m {
		if !slices.Contains(keys, k) {
			return fmt.Errorf("unknown key %q in argument (want %s)", k, strings.Join(keys, ", "))
		}
	}
	return nil
}

// patternArg reads a regular expression given as a string or as
// {pattern: "..."}; whole is true when the pattern must match the whole
// value (it is then anchored).
func patternArg(arg any, whole bool) (*regexp.Regexp, string, error) {
	p, ok := arg.(string)
	if m, isMap := arg.(map[string]any); isMap {
		if err := mapArg(m, "pattern"); err != nil {
			return nil, "", err
		}
		p, ok = m["pattern"].(string)
	}
	if !ok || p == "" {
		return nil, "", fmt.Errorf("argument must be a regular expression or {pattern: <regular expression>}, got %s", show(arg))
	}
	src := p
	if whole {
		src = `^(?:` + p + `)$`
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, "", fmt.Errorf("argument must be a valid regular expression: %w", err)
	}
	return re, p, nil
}
