package validate

import "errors"

var errDigits = errors.New("must contain only digits")

func init() {
	Register(Info{
		Name:    "digits",
		Passes:  "text of ASCII digits `0-9` only, or a non-negative integer; `+1 (555) 123-4567`, `-5`, `12 34` fail",
		Keeps:   "the value",
		Message: "`must contain only digits`",
		Doc:     "text of ASCII digits 0-9 only (no signs, spaces or separators), or a non-negative integer",
		Arg:     "none",
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return funcValidator(validateDigits), nil
	})
}

func digitsCheck(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return s, errDigits
		}
	}
	return s, nil
}

func validateDigits(v any) (any, error) {
	if n, ok := v.(int64); ok {
		if n < 0 {
			return v, errDigits
		}
		return v, nil
	}
	return eachString(v, digitsCheck, errDigits)
}
