package exprfn

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Functions that clean identifiers: keys, digits, hashes, domains, ZIPs.

func init() {
	register("digits_only", digitsOnlyFn, new(func(any) any))
	register("normalize_key", normalizeKeyFn, new(func(any) any))
	register("sha256", sha256Fn, new(func(any) any))
	register("email_domain", emailDomainFn, new(func(any) any))
	register("pad_zip", padZipFn, new(func(any) any))
}

func digitsOnlyFn(args ...any) (any, error) {
	s, isNil, err := textArg("digits_only", args[0])
	if isNil || err != nil {
		return nil, err
	}
	return keepDigits(s), nil
}

func keepDigits(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func normalizeKeyFn(args ...any) (any, error) {
	s, isNil, err := textArg("normalize_key", args[0])
	if isNil || err != nil {
		return nil, err
	}
	return normalizeKey(s), nil
}

// normalizeKey makes a stable key of a human title: lower-case letters
// and digits; apostrophes and dots dropped ("Homeowner's", "No."); every
// other run of spaces and punctuation one '_'; none at either end.
// "Deposit Type-" → "deposit_type", "Both Homeowners Present?" →
// "both_homeowners_present".
func normalizeKey(s string) string {
	return string(appendKey(make([]byte, 0, len(s)), s))
}

func appendKey(b []byte, s string) []byte {
	pendingSep := false
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && ('a' <= r && r <= 'z' || '0' <= r && r <= '9'):
		case r < utf8.RuneSelf && 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		case isApostrophe(r) || r == '.' || r == '‘':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
		default:
			pendingSep = true
			continue
		}
		if pendingSep && len(b) > 0 {
			b = append(b, '_')
		}
		pendingSep = false
		b = utf8.AppendRune(b, r)
	}
	return b
}

// sha256Fn hashes the text of a value to 64 hex digits, to pseudonymise
// it. It hashes the text as given: normalise first (sha256(lower(trim(email))))
// when equal values must hash alike.
func sha256Fn(args ...any) (any, error) {
	s, isNil, err := textArg("sha256", args[0])
	if isNil || err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:]), nil
}

// emailDomainFn gives the lower-cased part after the last '@', or nil.
func emailDomainFn(args ...any) (any, error) {
	s, isNil, err := textArg("email_domain", args[0])
	if isNil || err != nil {
		return nil, err
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return nil, nil
	}
	d := strings.TrimRight(strings.TrimSpace(s[at+1:]), ".>")
	if d == "" {
		return nil, nil
	}
	return strings.ToLower(d), nil
}

// padZipFn restores the leading zeros a US ZIP code lost in a spreadsheet
// or a numeric column: 2134 → "02134", "2134-5678" → "02134-5678", eight
// or nine digits → ZIP+4 "02134-5678". Anything else (a Canadian postal
// code) is returned trimmed; blank is nil.
func padZipFn(args ...any) (any, error) {
	v := args[0]
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		v = int64(f)
	}
	s, isNil, err := textArg("pad_zip", v)
	if isNil || err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	zip, plus4, dash := strings.Cut(s, "-")
	if !allDigits(zip) || dash && (len(plus4) != 4 || !allDigits(plus4)) {
		return s, nil
	}
	switch {
	case len(zip) <= 5 && dash:
		return strings.Repeat("0", 5-len(zip)) + zip + "-" + plus4, nil
	case len(zip) <= 5:
		return strings.Repeat("0", 5-len(zip)) + zip, nil
	case len(zip) <= 9 && len(zip) >= 8 && !dash:
		zip = strings.Repeat("0", 9-len(zip)) + zip
		return zip[:5] + "-" + zip[5:], nil
	}
	return s, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
