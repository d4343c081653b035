package exprfn

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/crmsync/crmsync/engine/convert"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/expr-lang/expr/vm/runtime"
)

func init() {
	register("coalesce", coalesceFn, new(func(...any) any))
	register("default", defaultFn, new(func(any, any) any))
	register("nullif", nullifFn, new(func(any, any) any))
	register("is_blank", isBlankFn, new(func(any) bool))
	register("to_e164", toE164Fn, new(func(any) any), new(func(any, string) any))
}

// isBlank is nil, white-space-only text, or an empty list or map.
func isBlank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// coalesceFn returns the first argument that is not blank (nil, empty or
// white-space text, empty list), or nil.
func coalesceFn(args ...any) (any, error) {
	for _, a := range args {
		if !isBlank(a) {
			return a, nil
		}
	}
	return nil, nil
}

// defaultFn replaces nil only; blank text is kept (coalesce skips it).
func defaultFn(args ...any) (any, error) {
	if args[0] == nil {
		return args[1], nil
	}
	return args[0], nil
}

// nullifFn gives nil when a equals b (as expr's == sees it), else a.
func nullifFn(args ...any) (any, error) {
	if args[0] == nil || runtime.Equal(args[0], args[1]) {
		return nil, nil
	}
	return args[0], nil
}

func isBlankFn(args ...any) (any, error) {
	if v := reflect.ValueOf(args[0]); v.Kind() == reflect.Slice || v.Kind() == reflect.Map {
		return v.Len() == 0, nil
	}
	return isBlank(args[0]), nil
}

var phoneConverters sync.Map // region → *convert.Converter

// toE164Fn: to_e164(text [, region]) formats a phone number as E.164
// (default region US); nil when it is not a possible number.
func toE164Fn(args ...any) (any, error) {
	region := "US"
	if len(args) == 2 {
		var err error
		if region, err = stringArg("to_e164", args[1]); err != nil {
			return nil, err
		}
	}
	c, ok := phoneConverters.Load(region)
	if !ok {
		conv, err := convert.New(convert.Spec{Type: value.Phone, Region: region})
		if err != nil {
			return nil, fmt.Errorf("to_e164: %w", err)
		}
		c, _ = phoneConverters.LoadOrStore(region, conv)
	}
	v := args[0]
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		v = int64(f) // a number column: 4155552671, not 4.155552671e+09
	}
	s, isNil, err := textArg("to_e164", v)
	if isNil || err != nil {
		return nil, err
	}
	out, err := c.(*convert.Converter).FromValue(s)
	if err != nil {
		return nil, nil
	}
	return out, nil
}
