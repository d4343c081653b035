package convert

import (
	"errors"

	"github.com/nyaruka/phonenumbers"
	"github.com/tidwall/gjson"
)

// phone formats a number as E.164 ("+14155552671"). An extension is
// dropped: E.164 has no place for it. The number must be possible for its
// country with its area code (a 7-digit local-only number cannot become
// E.164); it need not be assigned, so the fictional 555-01xx numbers
// pass. The validator does the stricter checks.
func (c *Converter) phone(s string) (any, error) {
	if c.nanp {
		if e164, ok := nanpFast(s); ok {
			return e164, nil
		}
	}
	n, err := phonenumbers.Parse(s, c.region)
	if err != nil || phonenumbers.IsPossibleNumberWithReason(n) != phonenumbers.IS_POSSIBLE || !NANPPlausible(n) {
		return nil, c.errPhone
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// PhoneIn converts a phone value read from JSON with the region of the
// record (an ISO 3166 code such as GB or gb, read by region_from). An
// empty or unknown region is the field's default region.
func (c *Converter) PhoneIn(r gjson.Result, region string) (any, error) {
	var s string
	switch r.Type {
	case gjson.String:
		s = r.Str
	case gjson.Number:
		s = r.Raw
	default:
		return c.FromJSON(r)
	}
	reg, ok := regionCode(region)
	if !ok || reg == c.region {
		return c.phone(s)
	}
	if phonenumbers.GetCountryCodeForRegion(reg) == 1 {
		if e164, ok := nanpFast(s); ok {
			return e164, nil
		}
	}
	n, err := phonenumbers.Parse(s, reg)
	if err != nil || phonenumbers.IsPossibleNumberWithReason(n) != phonenumbers.IS_POSSIBLE || !NANPPlausible(n) {
		return nil, errors.New("not a possible phone number for region " + reg)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// regionCode reads a two-letter region in either case; ok is false when
// phonenumbers does not know it.
func regionCode(s string) (string, bool) {
	if len(s) != 2 {
		return "", false
	}
	b := [2]byte{s[0], s[1]}
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		}
	}
	reg := s
	if b[0] != s[0] || b[1] != s[1] {
		reg = string(b[:])
	}
	return reg, phonenumbers.GetSupportedRegions()[reg]
}

// NANPPlausible is false for a North American (+1) number that cannot
// exist because its area code starts with 0 or 1 (030-555-9000,
// 000-000-0000), which libphonenumber's length check lets through. The
// exchange is not judged (the fictional 555-123-4567 of examples stays),
// nor are other countries.
func NANPPlausible(n *phonenumbers.PhoneNumber) bool {
	if n.GetCountryCode() != 1 {
		return true
	}
	nat := n.GetNationalNumber()
	return nat >= 2_000_000_000 && nat < 10_000_000_000
}

// nanpFast handles the bulk of North American numbers without
// phonenumbers.Parse, which costs ~15µs and 35 allocations a call: text of
// digits and the punctuation ( ) - . / space, optionally "+1", holding ten
// digits (or eleven with a leading 1) whose area code starts with 2-9.
// That is exactly the case where phonenumbers keeps the ten digits as the
// national number and finds it possible; anything else (extensions,
// letters, other lengths, "011" prefixes) is left to phonenumbers.
// TestNANPFastMatchesPhonenumbers holds the two paths together.
func nanpFast(s string) (string, bool) {
	if len(s) > 32 { // phonenumbers refuses very long text; so do we
		return "", false
	}
	var d [11]byte
	n, plus := 0, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= '0' && ch <= '9':
			if n == len(d) {
				return "", false
			}
			d[n] = ch
			n++
		case ch == '+':
			if plus || n > 0 {
				return "", false
			}
			plus = true
		case ch == ' ', ch == '-', ch == '.', ch == '(', ch == ')', ch == '/':
		default:
			return "", false
		}
	}
	var national []byte
	switch {
	case n == 11 && d[0] == '1':
		national = d[1:11]
	case n == 10 && !plus:
		national = d[:10]
	default:
		return "", false
	}
	if national[0] < '2' { // area codes start 2-9
		return "", false
	}
	var out [12]byte
	out[0], out[1] = '+', '1'
	copy(out[2:], national)
	return string(out[:]), true
}
