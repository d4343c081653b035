package validate

import "errors"

var errObjectID = errors.New("Invalid object ID")

func init() {
	Register(Info{
		Name:    "object_id",
		Passes:  "24 hexadecimal digits (a MongoDB ObjectId); with a pattern, the whole value must match",
		Keeps:   "the trimmed text",
		Message: "`Invalid object ID`",
		Doc:     "an object id: 24 hexadecimal digits (a MongoDB ObjectId) by default, or the whole value matching a pattern",
		Arg:     "none, a regular expression for the whole value, or {pattern: <regular expression>}",
	}, func(arg any) (Validator, error) {
		if arg == nil {
			return funcValidator(validateObjectID), nil
		}
		re, _, err := patternArg(arg, true)
		if err != nil {
			return nil, err
		}
		return newPatternValidator(re, nil, errObjectID), nil
	})
}

var objectIDCheck = trimmed(func(s string) (string, error) {
	if len(s) != 24 {
		return s, errObjectID
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return s, errObjectID
		}
	}
	return s, nil
})

func validateObjectID(v any) (any, error) { return eachString(v, objectIDCheck, errObjectID) }
