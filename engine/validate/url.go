package validate

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"
)

var errURL = errors.New("Invalid URL")

func init() {
	Register(Info{
		Name:    "url",
		Passes:  "absolute `http`/`https` URL with a host: names (also internationalised), IPv4, `[IPv6]`, optional port, path, query and fragment; `%` only as `%XX`",
		Keeps:   "the trimmed text",
		Message: "`Invalid URL`",
		Doc:     "an absolute http or https URL with a host (IDN hosts, IPv4 and [IPv6] accepted)",
		Arg:     "none",
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return urlValidator{}, nil
	})
}

type urlValidator struct{}

var _ Validator = urlValidator{}

var urlCheck = trimmed(func(s string) (string, error) {
	if !isHTTPURL(s) {
		return s, errURL
	}
	return s, nil
})

func (urlValidator) Validate(v any) (any, error) { return eachString(v, urlCheck, errURL) }

// isHTTPURL scans scheme://[userinfo@]host[:port][/path][?query][#fragment]
// without building a url.URL, so a passing value costs no allocation.
func isHTTPURL(s string) bool {
	var rest string
	switch {
	case len(s) > 7 && strings.EqualFold(s[:7], "http://"):
		rest = s[7:]
	case len(s) > 8 && strings.EqualFold(s[:8], "https://"):
		rest = s[8:]
	default:
		return false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		if !isUserinfo(authority[:at]) {
			return false
		}
		authority = authority[at+1:]
	}
	return urlHostPort(authority) && urlChars(tail)
}

func urlHostPort(hp string) bool {
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return false
		}
		a, err := netip.ParseAddr(hp[1:end])
		if err != nil || !a.Is6() {
			return false
		}
		rest := hp[end+1:]
		return rest == "" || rest[0] == ':' && urlPort(rest[1:])
	}
	if i := strings.LastIndexByte(hp, ':'); i >= 0 {
		return urlHost(hp[:i]) && urlPort(hp[i+1:])
	}
	return urlHost(hp)
}

// urlPort accepts 1 to 5 digits up to 65535.
func urlPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// urlHost accepts a host name of letters, digits, hyphens, underscores and
// UTF-8 letters in dot-separated labels, one label allowed (localhost), or
// a dotted IPv4 address.
func urlHost(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	start, digitsOnly := 0, true
	for i := 0; i <= len(h); {
		if i == len(h) || h[i] == '.' {
			if n := i - start; n == 0 || n > 63 || h[start] == '-' || h[i-1] == '-' {
				return false
			}
			if i == len(h) {
				break
			}
			i++
			start, digitsOnly = i, true
			continue
		}
		c := h[i]
		if c < utf8.RuneSelf {
			switch {
			case c >= '0' && c <= '9':
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_':
				digitsOnly = false
			default:
				return false
			}
			i++
			continue
		}
		n := utf8NonASCII(h[i:])
		if n == 0 {
			return false
		}
		digitsOnly = false
		i += n
	}
	if digitsOnly {
		a, err := netip.ParseAddr(h)
		return err == nil && a.Is4()
	}
	return true
}

// urlChars accepts the characters of a path, query, fragment or userinfo:
// no blanks or controls, no characters that need escaping everywhere
// (" < > \ `), and '%' only as a %XX escape.
func urlChars(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			n := utf8NonASCII(s[i:])
			if n == 0 {
				return false
			}
			i += n
			continue
		}
		switch {
		case c <= ' ' || c == 0x7f, c == '"', c == '<', c == '>', c == '\\', c == '`':
			return false
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 3
			continue
		}
		i++
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isUserinfo accepts what RFC 3986 allows before '@': unreserved and
// sub-delimiter characters, ':' and %XX escapes (as net/url does).
func isUserinfo(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:", c) >= 0:
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}
