package validate

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

var errNoLength = errors.New("must be text or a list")

func init() {
	for _, l := range []struct {
		name, doc, word        string
		cmp                    func(n, want int) bool
		passes, keeps, message string
	}{
		{"min_length", "text of at least N characters (runes), or a list of at least N items", "at least", func(n, want int) bool { return n >= want }, "text of at least N characters (Unicode characters, not bytes), lists (and JSON arrays) of at least N items; numbers count the characters of their text", "the value", "`must be at least 3 characters`, `must have at least 2 items`"},
		{"max_length", "text of at most N characters (runes), or a list of at most N items", "at most", func(n, want int) bool { return n <= want }, "at most N characters or items", "the value", "`must be at most 80 characters`"},
		{"length", "text of exactly N characters (runes), or a list of exactly N items", "exactly", func(n, want int) bool { return n == want }, "exactly N characters or items", "the value", "`must be exactly 5 characters`"},
	} {
		Register(Info{Name: l.name, Doc: l.doc, Passes: l.passes, Keeps: l.keeps, Message: l.message, Arg: "a non-negative whole number"}, func(arg any) (Validator, error) {
			n, err := countArg(arg)
			if err != nil {
				return nil, err
			}
			return &lengthValidator{
				want:     n,
				cmp:      l.cmp,
				errChars: fmt.Errorf("must be %s %d %s", l.word, n, plural(n, "character", "characters")),
				errItems: fmt.Errorf("must have %s %d %s", l.word, n, plural(n, "item", "items")),
			}, nil
		})
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

type lengthValidator struct {
	want               int
	cmp                func(n, want int) bool
	errChars, errItems error
}

var _ Validator = (*lengthValidator)(nil)

// Validate counts runes of text and items of lists ([]string, a JSON
// array). Numbers and booleans count the characters of their text. An
// empty string or list is no value and passes.
func (l *lengthValidator) Validate(v any) (any, error) {
	var n int
	err := l.errChars
	switch x := v.(type) {
	case string:
		if x == "" {
			return v, nil
		}
		n = utf8.RuneCountInString(x)
	case []string:
		if len(x) == 0 {
			return v, nil
		}
		n, err = len(x), l.errItems
	case json.RawMessage:
		r := gjson.ParseBytes(x)
		if !r.IsArray() {
			return v, errNoLength
		}
		r.ForEach(func(_, _ gjson.Result) bool { n++; return true })
		if n == 0 {
			return v, nil
		}
		err = l.errItems
	case time.Time, nil:
		return v, errNoLength
	default:
		s, ok := textOf(v)
		if !ok {
			return v, errNoLength
		}
		n = utf8.RuneCountInString(s)
	}
	if !l.cmp(n, l.want) {
		return v, err
	}
	return v, nil
}
