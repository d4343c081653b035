package validate

import (
	"errors"
	"strings"
)

var errUUID = errors.New("Invalid UUID")

func init() {
	Register(Info{
		Name:    "uuid",
		Passes:  "a UUID of 32 hexadecimal digits in groups of 8-4-4-4-12, in any case, also in braces (`{…}`, as OData's Edm.Guid and Windows write it) or as `urn:uuid:…`; `123e4567e89b12d3a456426614174000` without dashes fails",
		Keeps:   "the canonical form: lower case, dashes, no braces or urn prefix",
		Message: "`Invalid UUID`",
		Doc:     "a UUID (8-4-4-4-12 hexadecimal digits, any case, optionally in braces or as urn:uuid:…), kept in its canonical lower-case form",
		Arg:     "none",
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return funcValidator(validateUUID), nil
	})
}

var uuidCheck = trimmed(func(s string) (string, error) {
	t := s
	if len(t) == 38 && t[0] == '{' && t[37] == '}' {
		t = t[1:37]
	} else if len(t) == 45 && strings.EqualFold(t[:9], "urn:uuid:") {
		t = t[9:]
	}
	if len(t) != 36 {
		return s, errUUID
	}
	lower := true
	for i := 0; i < 36; i++ {
		c := t[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return s, errUUID
			}
		default:
			if !isHex(c) {
				return s, errUUID
			}
			lower = lower && !(c >= 'A' && c <= 'F')
		}
	}
	if lower && len(t) == len(s) {
		return s, nil
	}
	return strings.ToLower(t), nil
})

func validateUUID(v any) (any, error) { return eachString(v, uuidCheck, errUUID) }
