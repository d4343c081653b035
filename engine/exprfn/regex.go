package exprfn

import (
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
)

func init() {
	register("regex_match", regexMatchFn, new(func(any, string) bool))
	register("regex_replace", regexReplaceFn, new(func(any, string, string) any))
	register("regex_extract", regexExtractFn, new(func(any, string) any), new(func(any, string, int) any))
}

// The patterns an expression uses are nearly always constants, so each is
// compiled once and kept. Patterns built from data could grow the cache
// without end; past maxCachedPatterns new ones are compiled per call.
const maxCachedPatterns = 1024

type compiled struct {
	re  *regexp.Regexp
	err error
}

var (
	patterns     sync.Map // string → compiled
	patternCount atomic.Int64
)

func pattern(fn, p string) (*regexp.Regexp, error) {
	if c, ok := patterns.Load(p); ok {
		c := c.(compiled)
		return c.re, c.err
	}
	re, err := regexp.Compile(p)
	if err != nil {
		err = fmt.Errorf("%s: invalid pattern %q: %w", fn, p, err)
	}
	if patternCount.Load() < maxCachedPatterns {
		if _, loaded := patterns.LoadOrStore(p, compiled{re, err}); !loaded {
			patternCount.Add(1)
		}
	}
	return re, err
}

// regexMatchFn reports whether the text contains a match; nil is false.
func regexMatchFn(args ...any) (any, error) {
	p, err := stringArg("regex_match", args[1])
	if err != nil {
		return nil, err
	}
	re, err := pattern("regex_match", p)
	if err != nil {
		return nil, err
	}
	s, isNil, err := textArg("regex_match", args[0])
	if isNil || err != nil {
		return false, err
	}
	return re.MatchString(s), nil
}

// regexReplaceFn replaces every match; repl may use $1 and ${name}.
func regexReplaceFn(args ...any) (any, error) {
	p, err := stringArg("regex_replace", args[1])
	if err != nil {
		return nil, err
	}
	repl, err := stringArg("regex_replace", args[2])
	if err != nil {
		return nil, err
	}
	re, err := pattern("regex_replace", p)
	if err != nil {
		return nil, err
	}
	s, isNil, err := textArg("regex_replace", args[0])
	if isNil || err != nil {
		return nil, err
	}
	return re.ReplaceAllString(s, repl), nil
}

// regexExtractFn gives the first match (or its group n), nil if none.
func regexExtractFn(args ...any) (any, error) {
	p, err := stringArg("regex_extract", args[1])
	if err != nil {
		return nil, err
	}
	re, err := pattern("regex_extract", p)
	if err != nil {
		return nil, err
	}
	group := 0
	if len(args) == 3 {
		if group, err = intArg("regex_extract", args[2]); err != nil {
			return nil, err
		}
		if group < 0 || group > re.NumSubexp() {
			return nil, fmt.Errorf("regex_extract: pattern %q has no group %d", p, group)
		}
	}
	s, isNil, err := textArg("regex_extract", args[0])
	if isNil || err != nil {
		return nil, err
	}
	m := re.FindStringSubmatchIndex(s)
	if m == nil || m[2*group] < 0 {
		return nil, nil
	}
	return s[m[2*group]:m[2*group+1]], nil
}
