package validate

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"

	"github.com/crmsync/crmsync/engine/convert"
)

var errPhone = errors.New("Invalid phone number")

func init() {
	Register(Info{
		Name:    "phone",
		Passes:  "a *possible* number per libphonenumber (right length for its country): `+1 (555) 123-4567`, `555.123.4567`, `+44 20 7946 0958`, `555-123-4567 ext. 89`. Numbers without `+` are read in the region. A local-only number (`123-4567`, no area code) fails, and so does a `+1` number whose area code starts with 0 or 1",
		Keeps:   "the trimmed text, as written (use `type: phone` to store E.164)",
		Message: "`Invalid phone number`",
		Doc:     "a possible phone number for its region (length and country code checked by libphonenumber); kept as written",
		Arg:     `a region code such as "US" or "GB" (default "US"), used for numbers without +country code`,
	}, newPhone)
}

func newPhone(arg any) (Validator, error) {
	region := "US"
	if arg != nil {
		s, ok := arg.(string)
		if !ok || phonenumbers.GetCountryCodeForRegion(strings.ToUpper(s)) == 0 {
			return nil, fmt.Errorf("argument must be a two-letter region code such as \"US\" or \"GB\", got %s", show(arg))
		}
		region = strings.ToUpper(s)
	}
	phoneLengths() // build the table now, not on the first record
	p := phoneValidator{region: region, nanp: phonenumbers.GetCountryCodeForRegion(region) == 1}
	p.check = trimmed(p.checkString)
	return p, nil
}

type phoneValidator struct {
	region string
	nanp   bool // the region dials +1: convert.NANPPossible decides national forms
	check  checkFunc
}

var _ Validator = phoneValidator{}

func (p phoneValidator) Validate(v any) (any, error) {
	if n, ok := v.(int64); ok {
		// A number column read from a spreadsheet: national digits.
		if _, err := p.checkString(strconv.FormatInt(n, 10)); err != nil {
			return v, err
		}
		return v, nil
	}
	return eachString(v, p.check, errPhone)
}

// checkString demands IS_POSSIBLE, not IS_POSSIBLE_LOCAL_ONLY: a seven-digit
// US number without its area code cannot be dialled from a CRM.
func (p phoneValidator) checkString(s string) (string, error) {
	if possibleInternational(s) {
		return s, nil
	}
	if convert.NANPPossible(s, p.nanp) {
		return s, nil // (555) 123-4567 in 100 ns, not 30 µs
	}
	num, err := phonenumbers.Parse(s, p.region)
	if err != nil || phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE || !convert.NANPPlausible(num) {
		return s, errPhone
	}
	return s, nil
}

// phoneLengths[cc] has bit 0 set when cc is a country calling code, and
// bit n set when a national significant number of n
// digits is IS_POSSIBLE for country calling code cc. Whether a number is
// possible depends on nothing else, so a "+" number is decided with a
// table look-up instead of phonenumbers.Parse (17 µs, mostly its
// extension regexp).
var phoneLengths = sync.OnceValue(func() *[1000]uint32 {
	var t [1000]uint32
	for cc := int32(1); cc < 1000; cc++ {
		if len(phonenumbers.GetRegionCodesForCountryCode(int(cc))) == 0 {
			continue
		}
		t[cc] = 1
		nat := uint64(1)
		for n := 1; n <= 17; n, nat = n+1, nat*10 {
			num := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nat}
			if phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE {
				t[cc] |= 1 << n
			}
		}
	}
	return &t
})

// possibleInternational reports whether s is "+" and digits with common
// separators (+1 (555) 123-4567, +15551234567) forming a possible number.
// False means "not decided here": the caller parses the slow way, which
// also handles extensions, national prefixes and letters.
func possibleInternational(s string) bool {
	if len(s) < 2 || s[0] != '+' {
		return false
	}
	var digits [20]byte
	n := 0
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if n == len(digits) {
				return false
			}
			digits[n], n = c, n+1
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	if n == 0 || digits[0] == '0' {
		return false // no calling code starts with 0
	}
	t := phoneLengths()
	cc := 0
	for l := 1; l <= 3 && l < n; l++ {
		cc = cc*10 + int(digits[l-1]-'0')
		if t[cc]&1 == 0 {
			continue
		}
		// The first valid calling code wins, as in libphonenumber; a
		// leading zero in the national number is left to Parse.
		nsn := n - l
		if cc == 1 && (nsn != 10 || digits[1] < '2') {
			return false // +1 area codes start 2-9; Parse decides the rest
		}
		return digits[l] != '0' && nsn <= 17 && t[cc]&(1<<nsn) != 0
	}
	return false
}
