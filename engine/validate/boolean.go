package validate

import (
	"errors"
	"strings"
)

var errBoolean = errors.New("Invalid boolean")

// boolWords are the spellings of yes and no that CRM exports use.
var boolWords = [...]string{"true", "false", "yes", "no", "y", "n", "t", "f", "1", "0", "on", "off"}

func init() {
	Register(Info{
		Name:    "boolean",
		Passes:  "boolean values, the integers 0 and 1, text `true/false`, `yes/no`, `y/n`, `t/f`, `1/0`, `on/off` in any case",
		Keeps:   "the trimmed text",
		Message: "`Invalid boolean`",
		Doc:     "a boolean value, 0 or 1, or text true/false, yes/no, y/n, t/f, 1/0, on/off (any case); kept as written",
		Arg:     "none",
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return funcValidator(validateBoolean), nil
	})
}

var booleanCheck = trimmed(func(s string) (string, error) {
	for _, w := range boolWords {
		if strings.EqualFold(s, w) {
			return s, nil
		}
	}
	return s, errBoolean
})

func validateBoolean(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return v, nil
	case int64:
		if x == 0 || x == 1 {
			return v, nil
		}
		return v, errBoolean
	}
	return eachString(v, booleanCheck, errBoolean)
}
