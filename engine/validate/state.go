package validate

import (
	"fmt"
)

func init() {
	Register(Info{
		Name:    "state",
		Passes:  "US states, DC, territories (PR, GU, VI, AS, MP) and military codes (AA, AE, AP), by code or name, any case, dots and extra spaces ignored (`new york`, `D.C.`, `Washington DC`, `U.S. Virgin Islands`)",
		Keeps:   "the two-letter code (`NY`)",
		Message: "`Invalid US state: 'XX'`",
		Doc:     "a US state, DC, territory (PR, GU, VI, AS, MP) or military code (AA, AE, AP), by code or name in any case; kept as the two-letter code",
		Arg:     "none",
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return stateValidator{}, nil
	})
}

// usStates maps each code to its names; names are matched after folding
// case, dropping dots and collapsing blanks.
var usStates = map[string][]string{
	"AL": {"Alabama"}, "AK": {"Alaska"}, "AZ": {"Arizona"}, "AR": {"Arkansas"},
	"CA": {"California"}, "CO": {"Colorado"}, "CT": {"Connecticut"}, "DE": {"Delaware"},
	"DC": {"District of Columbia", "Washington DC"}, "FL": {"Florida"}, "GA": {"Georgia"},
	"HI": {"Hawaii", "Hawaiʻi"}, "ID": {"Idaho"}, "IL": {"Illinois"}, "IN": {"Indiana"}, "IA": {"Iowa"},
	"KS": {"Kansas"}, "KY": {"Kentucky"}, "LA": {"Louisiana"}, "ME": {"Maine"}, "MD": {"Maryland"},
	"MA": {"Massachusetts"}, "MI": {"Michigan"}, "MN": {"Minnesota"}, "MS": {"Mississippi"},
	"MO": {"Missouri"}, "MT": {"Montana"}, "NE": {"Nebraska"}, "NV": {"Nevada"},
	"NH": {"New Hampshire"}, "NJ": {"New Jersey"}, "NM": {"New Mexico"}, "NY": {"New York"},
	"NC": {"North Carolina"}, "ND": {"North Dakota"}, "OH": {"Ohio"}, "OK": {"Oklahoma"},
	"OR": {"Oregon"}, "PA": {"Pennsylvania"}, "RI": {"Rhode Island"}, "SC": {"South Carolina"},
	"SD": {"South Dakota"}, "TN": {"Tennessee"}, "TX": {"Texas"}, "UT": {"Utah"}, "VT": {"Vermont"},
	"VA": {"Virginia"}, "WA": {"Washington"}, "WV": {"West Virginia"}, "WI": {"Wisconsin"}, "WY": {"Wyoming"},
	"PR": {"Puerto Rico"}, "GU": {"Guam"}, "AS": {"American Samoa"},
	"VI": {"U.S. Virgin Islands", "Virgin Islands", "United States Virgin Islands"},
	"MP": {"Northern Mariana Islands", "Northern Marianas"},
	"AA": {"Armed Forces Americas"},
	"AE": {"Armed Forces Europe", "Armed Forces Africa", "Armed Forces Canada", "Armed Forces Middle East"},
	"AP": {"Armed Forces Pacific"},
}

// stateKeys maps folded codes and names to the code, boxed once so that
// returning it does not allocate.
var stateKeys = func() map[string]any {
	m := map[string]any{}
	for code, names := range usStates {
		var boxed any = code
		for _, k := range append([]string{code}, names...) {
			var buf [stateKeyMax]byte
			key, ok := stateKey(k, &buf)
			if !ok {
				panic("validate: state name too long: " + k)
			}
			if _, dup := m[string(key)]; dup {
				panic("validate: duplicate state key " + k)
			}
			m[string(key)] = boxed
		}
	}
	return m
}()

const stateKeyMax = 32

// stateKey folds a name into buf: ASCII lower case, dots and commas
// dropped, runs of blanks made one space, ends trimmed.
func stateKey(s string, buf *[stateKeyMax]byte) ([]byte, bool) {
	n, blank := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c == ',':
			continue
		case c == ' ' || c == '\t':
			blank = n > 0
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if blank {
			if n == len(buf) {
				return nil, false
			}
			buf[n], n, blank = ' ', n+1, false
		}
		if n == len(buf) {
			return nil, false
		}
		buf[n], n = c, n+1
	}
	return buf[:n], true
}

type stateValidator struct{}

var _ Validator = stateValidator{}

func (stateValidator) Validate(v any) (any, error) {
	switch x := v.(type) {
	case string:
		code, err := lookupState(x)
		if err != nil || code == nil || code.(string) == x {
			return v, err
		}
		return code, nil
	case []string:
		return eachString(v, stateCheck, nil)
	}
	return v, fmt.Errorf("Invalid US state: '%v'", v)
}

var stateCheck = func(s string) (string, error) {
	code, err := lookupState(s)
	if err != nil || code == nil {
		return s, err
	}
	return code.(string), nil
}

// lookupState returns the boxed code of s, nil for a blank value.
func lookupState(s string) (any, error) {
	t := trimBlank(s)
	if t == "" {
		return nil, nil
	}
	var buf [stateKeyMax]byte
	if key, ok := stateKey(t, &buf); ok {
		if code, ok := stateKeys[string(key)]; ok {
			return code, nil
		}
	}
	return nil, fmt.Errorf("Invalid US state: '%s'", t)
}
