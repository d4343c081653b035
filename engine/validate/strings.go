package validate

import "slices"

// checkFunc checks one non-empty string and returns the string to keep
// (the same string when nothing changes).
type checkFunc func(s string) (string, error)

// eachString applies a string check to a string or to every element of a
// []string (multi-select values). The empty string is absent and passes.
// Other types fail with typeErr. The passing path allocates only when a
// value is normalised.
func eachString(v any, check checkFunc, typeErr error) (any, error) {
	switch x := v.(type) {
	case string:
		if x == "" {
			return v, nil
		}
		out, err := check(x)
		if err != nil {
			return v, err
		}
		if out == x {
			return v, nil
		}
		return out, nil
	case []string:
		var cp []string
		for i, s := range x {
			if s == "" {
				continue
			}
			out, err := check(s)
			if err != nil {
				return v, err
			}
			if out != s {
				if cp == nil {
					cp = slices.Clone(x)
				}
				cp[i] = out
			}
		}
		if cp != nil {
			return cp, nil
		}
		return v, nil
	}
	return v, typeErr
}

// trimmed wraps a check so that surrounding spaces and tabs are dropped
// first; a value of blanks only is absent and kept as it is.
func trimmed(check func(s string) (string, error)) checkFunc {
	return func(s string) (string, error) {
		t := trimBlank(s)
		if t == "" {
			return s, nil
		}
		return check(t)
	}
}
