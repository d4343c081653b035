package validate

import (
	"fmt"
	"regexp"
)

func init() {
	Register(Info{
		Name:    "regex",
		Passes:  "text in which the pattern matches: it is not anchored, so write `^…$` to match the whole value; numbers are matched as text",
		Keeps:   "the value",
		Message: "`must match the pattern ^[A-Z]`",
		Doc:     "text matching a regular expression (Go RE2 syntax, unanchored: use ^ and $ for the whole value); every item of a list must match",
		Arg:     "a regular expression",
	}, func(arg any) (Validator, error) {
		re, src, err := patternArg(arg, false)
		if err != nil {
			return nil, err
		}
		r := &regexValidator{re: re, err: fmt.Errorf("must match the pattern %s", src)}
		r.check = func(s string) (string, error) {
			if !re.MatchString(s) {
				return s, r.err
			}
			return s, nil
		}
		return r, nil
	})
}

type regexValidator struct {
	re    *regexp.Regexp
	check checkFunc
	err   error
}

var _ Validator = (*regexValidator)(nil)

func (r *regexValidator) Validate(v any) (any, error) {
	switch v.(type) {
	case string, []string:
		return eachString(v, r.check, nil)
	}
	// Numbers, booleans and times match their text.
	s, ok := textOf(v)
	if !ok || !r.re.MatchString(s) {
		return v, r.err
	}
	return v, nil
}
