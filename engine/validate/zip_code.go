package validate

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

var errUSZip = errors.New("Invalid US ZIP code")

// postalFormat is one country's postal code: a pattern for the whole
// value (matched case-insensitively) and, for formats with letters, the
// canonical spelling to keep.
type postalFormat struct {
	pattern string
	canon   func(s string) string
}

// postalFormats covers the countries CRM data usually carries; others use
// {pattern: ...}.
var postalFormats = map[string]postalFormat{
	"CA": {`[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z] ?[0-9][ABCEGHJ-NPRSTV-Z][0-9]`, spaceBeforeLast3},
	"GB": {`GIR ?0AA|[A-PR-UWYZ](?:[0-9][0-9A-HJKPS-UW]?|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?) ?[0-9][ABD-HJLNP-UW-Z]{2}`, spaceBeforeLast3},
	"DE": {`[0-9]{5}`, nil},
	"FR": {`[0-9]{5}`, nil},
	"IT": {`[0-9]{5}`, nil},
	"ES": {`(?:0[1-9]|[1-4][0-9]|5[0-2])[0-9]{3}`, nil},
	"MX": {`[0-9]{5}`, nil},
	"AU": {`[0-9]{4}`, nil},
	"NZ": {`[0-9]{4}`, nil},
	"NL": {`[1-9][0-9]{3} ?[A-Z]{2}`, spaceBeforeLast2},
	"BE": {`[1-9][0-9]{3}`, nil},
	"AT": {`[1-9][0-9]{3}`, nil},
	"CH": {`[1-9][0-9]{3}`, nil},
	"DK": {`[1-9][0-9]{3}`, nil},
	"NO": {`[0-9]{4}`, nil},
	"SE": {`[1-9][0-9]{2} ?[0-9]{2}`, nil},
	"PL": {`[0-9]{2}-[0-9]{3}`, nil},
	"PT": {`[1-9][0-9]{3}-[0-9]{3}`, nil},
	"IN": {`[1-9][0-9]{5}`, nil},
	"BR": {`[0-9]{5}-?[0-9]{3}`, nil},
	"JP": {`[0-9]{3}-?[0-9]{4}`, nil},
}

func init() {
	countries := append([]string{"US"}, sortedKeys(postalFormats)...)
	Register(Info{
		Name:    "zip_code",
		Passes:  "US: `12345` or `12345-6789`. Countries: `CA` `K1A 0B1`, `GB`/`UK` `SW1A 1AA`, `DE` `10115`, `FR` `75001`, `IT` `00100`, `ES` `28013`, `MX` `06600`, `AU` `2000`, `NZ` `6011`, `NL` `1234 AB`, `BE`/`AT`/`CH`/`DK` `1000`, `NO` `0150`, `SE` `114 55`, `PL` `00-950`, `PT` `1000-001`, `IN` `110001`, `BR` `01310-100`, `JP` `100-0001`. `{pattern: '…'}`: the whole value must match",
		Keeps:   "CA, GB and NL codes upper-cased with one space (`k1a0b1` → `K1A 0B1`); others the trimmed text",
		Message: "`Invalid US ZIP code`, `Invalid CA postal code`, `Invalid postal code`",
		Doc:     "a postal code: US 12345 or 12345-6789 by default; other countries by their format, letters upper-cased and spaced (k1a0b1 → K1A 0B1)",
		Arg:     "none (US), a country code (" + strings.Join(countries, ", ") + ") or {pattern: <regular expression for the whole value>}",
	}, newZipCode)
}

func newZipCode(arg any) (Validator, error) {
	country, isString := arg.(string)
	if arg == nil || isString && strings.EqualFold(country, "US") {
		return funcValidator(validateUSZip), nil
	}
	if isString {
		country = strings.ToUpper(country)
		if country == "UK" {
			country = "GB"
		}
		f, ok := postalFormats[country]
		if !ok {
			return nil, fmt.Errorf("argument must be a country code (US, %s) or {pattern: ...}, got %s",
				strings.Join(sortedKeys(postalFormats), ", "), show(arg))
		}
		re := regexp.MustCompile(`^(?i:` + f.pattern + `)$`)
		return newPatternValidator(re, f.canon, fmt.Errorf("Invalid %s postal code", country)), nil
	}
	if _, ok := arg.(map[string]any); !ok {
		return nil, fmt.Errorf("argument must be a country code such as \"CA\" or {pattern: ...}, got %s", show(arg))
	}
	re, _, err := patternArg(arg, true)
	if err != nil {
		return nil, err
	}
	return newPatternValidator(re, nil, errors.New("Invalid postal code")), nil
}

var usZipCheck = trimmed(func(s string) (string, error) {
	if !isUSZip(s) {
		return s, errUSZip
	}
	return s, nil
})

func validateUSZip(v any) (any, error) { return eachString(v, usZipCheck, errUSZip) }

// isUSZip accepts 12345 and 12345-6789.
func isUSZip(s string) bool {
	if len(s) != 5 && (len(s) != 10 || s[5] != '-') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != 5 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// patternValidator checks a whole value against a compiled pattern and
// optionally rewrites it to its canonical spelling.
type patternValidator struct {
	check checkFunc
	err   error
}

var _ Validator = patternValidator{}

func newPatternValidator(re *regexp.Regexp, canon func(string) string, err error) patternValidator {
	return patternValidator{err: err, check: trimmed(func(s string) (string, error) {
		if !re.MatchString(s) {
			return s, err
		}
		if canon != nil {
			return canon(s), nil
		}
		return s, nil
	})}
}

func (p patternValidator) Validate(v any) (any, error) { return eachString(v, p.check, p.err) }

// spaceBeforeLast3 upper-cases a code and puts one space before its last
// three characters (CA K1A 0B1, GB SW1A 1AA).
func spaceBeforeLast3(s string) string { return spaceBeforeLast(s, 3) }

// spaceBeforeLast2 does the same before the last two (NL 1234 AB).
func spaceBeforeLast2(s string) string { return spaceBeforeLast(s, 2) }

func spaceBeforeLast(s string, n int) string {
	if isCanonical(s, n) {
		return s
	}
	u := strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	return u[:len(u)-n] + " " + u[len(u)-n:]
}

// isCanonical reports whether s is already upper-case with its one space
// in place, so the passing path need not allocate.
func isCanonical(s string, n int) bool {
	sp := len(s) - n - 1
	if sp < 1 || s[sp] != ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' || c == ' ' && i != sp {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
