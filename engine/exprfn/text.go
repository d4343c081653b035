package exprfn

import (
	"fmt"
	"reflect"
	"strings"
	"unicode"
	"unicode/utf8"
)

func init() {
	register("trim", trimFn, new(func(any) any), new(func(any, string) any))
	register("upper", caseFn("upper", strings.ToUpper), new(func(any) any))
	register("lower", caseFn("lower", strings.ToLower), new(func(any) any))
	register("title_case", titleCaseFn, new(func(any) any))
	register("concat", concatFn, new(func(...any) string))
	register("split", splitFn, new(func(any, string) []string))
	register("join", joinFn, new(func(any) any), new(func(any, string) any))
	register("left", leftFn, new(func(any, int) any))
	register("right", rightFn, new(func(any, int) any))
}

// trim(s) trims white space; trim(s, cutset) trims those characters.
func trimFn(args ...any) (any, error) {
	s, isNil, err := textArg("trim", args[0])
	if isNil || err != nil {
		return nil, err
	}
	if len(args) == 2 {
		cut, err := stringArg("trim", args[1])
		if err != nil {
			return nil, err
		}
		return strings.Trim(s, cut), nil
	}
	return strings.TrimSpace(s), nil
}

func caseFn(name string, f func(string) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, isNil, err := textArg(name, args[0])
		if isNil || err != nil {
			return nil, err
		}
		return f(s), nil
	}
}

// titleCaseFn capitalises each word and lower-cases the rest. A word
// starts after any character that is not a letter or digit; after an
// apostrophe only when one letter precedes it and two or more follow, so
// "o'BRIEN-smith" is "O'Brien-Smith" while "DON'T" is "Don't" and "I'M"
// is "I'm".
func titleCaseFn(args ...any) (any, error) {
	s, isNil, err := textArg("title_case", args[0])
	if isNil || err != nil {
		return nil, err
	}
	// The builder starts only at the first rune that changes: a name
	// already written properly costs no allocation.
	var b strings.Builder
	changed := false
	wordLen := 0 // letters and digits since the word began
	for i, r := range s {
		out := r
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if wordLen == 0 {
				out = unicode.ToTitle(r)
			} else {
				out = unicode.ToLower(r)
			}
			wordLen++
		case isApostrophe(r):
			if wordLen == 1 && lettersAhead(s[i+utf8.RuneLen(r):]) >= 2 {
				wordLen = 0
			}
		default:
			wordLen = 0
		}
		if out != r && !changed {
			changed = true
			b.Grow(len(s))
			b.WriteString(s[:i])
		}
		if changed {
			b.WriteRune(out)
		}
	}
	if !changed {
		return s, nil
	}
	return b.String(), nil
}

// lettersAhead counts the letters at the start of s, up to 2.
func lettersAhead(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsLetter(r) || n == 2 {
			break
		}
		n++
	}
	return n
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' }

// concatFn joins the text of its arguments, skipping nils. When every
// non-nil argument is a list it concatenates the lists instead, as expr's
// built-in concat does.
func concatFn(args ...any) (any, error) {
	lists, scalars := 0, 0
	for _, a := range args {
		switch {
		case a == nil:
		case isList(a):
			lists++
		default:
			scalars++
		}
	}
	if lists > 0 && scalars == 0 {
		var out []any
		for _, a := range args {
			if a != nil {
				v := reflect.ValueOf(a)
				for i := 0; i < v.Len(); i++ {
					out = append(out, v.Index(i).Interface())
				}
			}
		}
		return out, nil
	}
	var b strings.Builder
	for _, a := range args {
		if a == nil {
			continue
		}
		s, ok := text(a)
		if !ok {
			return nil, fmt.Errorf("concat: cannot join %T with text", a)
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func isList(v any) bool {
	switch v.(type) {
	case []any, []string:
		return true
	case []byte:
		return false
	}
	return reflect.ValueOf(v).Kind() == reflect.Slice
}

// splitFn splits text on sep, trims the parts and drops empty ones.
func splitFn(args ...any) (any, error) {
	s, isNil, err := textArg("split", args[0])
	if isNil || err != nil {
		return nil, err
	}
	sep, err := stringArg("split", args[1])
	if err != nil {
		return nil, err
	}
	if sep == "" {
		return nil, fmt.Errorf("split: empty separator")
	}
	out := make([]string, 0, strings.Count(s, sep)+1)
	for part := range strings.SplitSeq(s, sep) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out, nil
}

// joinFn joins a list's items with sep (default ""), skipping nils.
func joinFn(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	sep := ""
	if len(args) == 2 {
		var err error
		if sep, err = stringArg("join", args[1]); err != nil {
			return nil, err
		}
	}
	switch list := args[0].(type) {
	case []string:
		return strings.Join(list, sep), nil
	case []any:
		var b strings.Builder
		first := true
		for _, item := range list {
			if item == nil {
				continue
			}
			s, ok := text(item)
			if !ok {
				return nil, fmt.Errorf("join: cannot join a list holding %T", item)
			}
			if !first {
				b.WriteString(sep)
			}
			b.WriteString(s)
			first = false
		}
		return b.String(), nil
	}
	return nil, fmt.Errorf("join: want a list, got %T", args[0])
}

// leftFn keeps the first n characters (not bytes).
func leftFn(args ...any) (any, error) {
	s, isNil, err := textArg("left", args[0])
	if isNil || err != nil {
		return nil, err
	}
	n, err := intArg("left", args[1])
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return "", nil
	}
	for i := range s {
		if n == 0 {
			return s[:i], nil
		}
		n--
	}
	return s, nil
}

// rightFn keeps the last n characters (not bytes).
func rightFn(args ...any) (any, error) {
	s, isNil, err := textArg("right", args[0])
	if isNil || err != nil {
		return nil, err
	}
	n, err := intArg("right", args[1])
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return "", nil
	}
	i := len(s)
	for ; i > 0 && n > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:], nil
}
