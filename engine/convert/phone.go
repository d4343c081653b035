package convert

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"github.com/tidwall/gjson"
)

// phone formats a number as E.164 ("+14155552671"). An extension is
// dropped: E.164 has no place for it. The number must be possible for its
// country with its area code (a 7-digit local-only number cannot become
// E.164); it need not be assigned, so the fictional 555-01xx numbers
// pass. The validator does the stricter checks.
func (c *Converter) phone(s string) (any, error) {
	if e164, ok := NANPFast(s, c.nanp); ok {
		return e164, nil
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
	if e164, ok := NANPFast(s, phonenumbers.GetCountryCodeForRegion(reg) == 1); ok {
		return e164, nil
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

// NANPFast handles the bulk of North American numbers without
// phonenumbers.Parse, which costs ~15µs and 35 allocations a call: text of
// digits and the punctuation ( ) - . / space or no-break space, optionally
// "+1" before and an extension (x12, ext. 12, extension 12) after, holding ten
// digits (or eleven with a leading 1) whose area code starts with 2-9.
// That is exactly the case where phonenumbers keeps the ten digits as the
// national number and finds it possible; anything else (extensions,
// letters, other lengths, "011" prefixes) is left to phonenumbers. The
// result is the E.164 text.
//
// nanpRegion says the default region dials +1 (US, CA, PR, JM, ...):
// then national forms (555-123-4567, 1-555-123-4567) are read too. In any
// other region only "+1" numbers are, since a "+" overrides the region.
//
// The exchange is not judged, as phonenumbers' IS_POSSIBLE does not
// (555-123-4567 of examples stays). TestNANPFastMatchesPhonenumbers and
// FuzzNANPFast hold this to phonenumbers.
func NANPFast(s string, nanpRegion bool) (string, bool) {
	out, ok := nanpE164(s, nanpRegion)
	if !ok {
		return "", false
	}
	return string(out[:]), true
}

// NANPPossible is NANPFast's answer without the text (no allocation), for
// validators: true means phonenumbers finds s possible and plausible;
// false means ask phonenumbers.
func NANPPossible(s string, nanpRegion bool) bool {
	_, ok := nanpE164(s, nanpRegion)
	return ok
}

func nanpE164(s string, nanpRegion bool) (out [12]byte, ok bool) {
	if len(s) > 32 { // phonenumbers refuses very long text; so do we
		return out, false
	}
	s = cutExtension(s)
	var d [11]byte
	n, plus := 0, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == 0xc2 && i+1 < len(s) && s[i+1] == 0xa0: // no-break space
			i++
		case ch >= '0' && ch <= '9':
			if n == len(d) {
				return out, false
			}
			d[n] = ch
			n++
		case ch == '+':
			if plus || n > 0 {
				return out, false
			}
			plus = true
		case ch == ' ', ch == '-', ch == '.', ch == '(', ch == ')', ch == '/':
		default:
			return out, false
		}
	}
	var national []byte
	switch {
	case n == 11 && d[0] == '1' && (plus || nanpRegion):
		national = d[1:11]
	case n == 10 && !plus && nanpRegion:
		national = d[:10]
	default:
		return out, false
	}
	if national[0] < '2' { // area codes start 2-9
		return out, false
	}
	out[0], out[1] = '+', '1'
	copy(out[2:], national)
	return out, true
}

// cutExtension drops an extension of one to six digits after x, ext,
// ext. or extension (any case, spaces around the word), which E.164 has
// no place for, as phonenumbers does; s without one is returned as is.
func cutExtension(s string) string {
	j := len(s)
	for j > 0 && s[j-1] >= '0' && s[j-1] <= '9' {
		j--
	}
	if j == len(s) || len(s)-j > 6 {
		return s
	}
	k := j
	for k > 0 && s[k-1] == ' ' {
		k--
	}
	for _, m := range [...]string{"extension", "ext.", "ext", "x"} {
		if k >= len(m) && strings.EqualFold(s[k-len(m):k], m) {
			return s[:k-len(m)]
		}
	}
	return s
}
