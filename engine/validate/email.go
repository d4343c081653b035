package validate

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

var errEmail = errors.New("Invalid email format")

func init() {
	Register(Info{
		Name:    "email",
		Passes:  "`local@domain.tld`: see [Email](../guides/writing-a-pipeline.md#email)",
		Keeps:   "the trimmed text",
		Message: "`Invalid email format`",
		Doc:     "an address local@domain.tld (plus-addressing and UTF-8 accepted; no display name, quotes, comments or IP literals)",
		Arg:     "none",
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return emailValidator{}, nil
	})
}

type emailValidator struct{}

var _ Validator = emailValidator{}

// emailCheck is a package-level func value so Validate does not build a
// closure per call.
var emailCheck = trimmed(func(s string) (string, error) {
	if !isEmail(s) {
		return s, errEmail
	}
	return s, nil
})

func (emailValidator) Validate(v any) (any, error) { return eachString(v, emailCheck, errEmail) }

// isEmail reports whether s is a dot-atom addr-spec (RFC 5322 §3.4.1,
// extended to UTF-8 by RFC 6531) with a DNS domain of two labels or more,
// within RFC 5321's lengths: local part ≤ 64 octets, domain ≤ 253,
// labels ≤ 63, the whole ≤ 254. Quoted local parts, comments, folding
// white space and address literals are refused on purpose: CRMs and mail
// providers do not handle them.
func isEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	at := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			at = i
			break
		}
	}
	if at <= 0 || at > 64 {
		return false
	}
	return isLocalPart(s[:at]) && isDomain(s[at+1:])
}

// atext marks the ASCII characters allowed in a dot-atom besides dots.
var atext = func() (t [128]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] = true
	}
	return t
}()

func isLocalPart(s string) bool {
	if s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == '.' {
				if s[i+1] == '.' {
					return false
				}
			} else if !atext[c] {
				return false
			}
			i++
			continue
		}
		n := utf8NonASCII(s[i:])
		if n == 0 {
			return false
		}
		i += n
	}
	return true
}

// isDomain checks LDH labels (UTF-8 letters allowed for internationalised
// names), no label starting or ending with a hyphen, at least two labels,
// and a top-level label that is not all digits (that is an IP address).
func isDomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	labels, start, digitsOnly := 0, 0, true
	for i := 0; i <= len(s); {
		if i == len(s) || s[i] == '.' {
			n := i - start
			if n == 0 || n > 63 || s[start] == '-' || s[i-1] == '-' {
				return false
			}
			labels++
			if i == len(s) {
				break
			}
			i++
			start, digitsOnly = i, true
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-':
				digitsOnly = false
			default:
				return false
			}
			i++
			continue
		}
		n := utf8NonASCII(s[i:])
		if n == 0 {
			return false
		}
		digitsOnly = false
		i += n
	}
	return labels >= 2 && !digitsOnly
}

// utf8NonASCII returns the length of the valid non-ASCII rune at the start
// of s, or 0 when it is invalid UTF-8, a control or a space character.
func utf8NonASCII(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
		return 0
	}
	return n
}
