package convert

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// email trims, drops a "mailto:" prefix and lower-cases the domain; the
// local part is kept as written (it is case-sensitive by the RFC). Only
// the shape local@domain is checked here; the email validator does the
// RFC checks.
func email(s string) (any, error) {
	if len(s) > 7 && strings.EqualFold(s[:7], "mailto:") {
		s = strings.TrimSpace(s[7:])
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return nil, errEmail
	}
	domain := s[at+1:]
	if hasUpper(domain) {
		return s[:at+1] + strings.ToLower(domain), nil
	}
	return s, nil
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// webURL accepts an absolute http or https URL with a host. A bare
// "www.example.com/x" (no scheme, a dot in the first segment, no spaces)
// gets "https://" in front: CRM website fields are typed by hand.
func webURL(s string) (any, error) {
	if !strings.Contains(s, "://") {
		host, _, _ := strings.Cut(s, "/")
		if !bareHost(host) || strings.ContainsAny(s, " \t") {
			return nil, errURL
		}
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, errURL
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
		return nil, errURLScheme
	}
	return s, nil
}

// bareHost reports "www.example.com" or "example.com:8080": letters,
// digits, '-' and dots with at least one inner dot, then an optional port.
func bareHost(s string) bool {
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort && !allDigits(port) {
		return false
	}
	if host == "" || host[0] == '.' || host[len(host)-1] == '.' || !strings.Contains(host, ".") {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c >= utf8.RuneSelf) {
			return false
		}
	}
	return true
}

// jsonFromString keeps a string as JSON. Text that is itself a JSON object
// or array (SalesPro keeps lead_results as a JSON string) is parsed and
// stored as that JSON; any other text is stored as a JSON string. quoted
// is the string's JSON literal when the caller has it.
func jsonFromString(s, quoted string) (any, error) {
	if s[0] == '{' || s[0] == '[' {
		if !gjson.Valid(s) {
			return nil, errInvalidJSON
		}
		return json.RawMessage(compact(s)), nil
	}
	if quoted != "" {
		return json.RawMessage(quoted), nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, errInvalidJSON
	}
	return json.RawMessage(b), nil
}

// compact returns JSON text without insignificant white space. Text with
// no white space at all is returned as is.
func compact(raw string) []byte {
	if !strings.ContainsAny(raw, " \t\r\n") {
		return []byte(raw)
	}
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return []byte(raw) // gjson was lenient where encoding/json is not; keep the text
	}
	return b.Bytes()
}

// splitList splits a multi-value text field. Commas separate values; a
// text with ';' and no ',' is split on ';' (HubSpot multi-checkbox
// properties). Values are trimmed and empty ones dropped.
func splitList(s string) []string {
	sep := ","
	if strings.IndexByte(s, ',') < 0 && strings.IndexByte(s, ';') >= 0 {
		sep = ";"
	}
	n := strings.Count(s, sep) + 1
	out := make([]string, 0, n)
	for part := range strings.SplitSeq(s, sep) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// arrayStrings turns a JSON array of scalars into strings: strings as
// their value, numbers as their JSON text, booleans as "true"/"false",
// nested objects and arrays as compact JSON. Nulls and blank strings are
// dropped; values are trimmed.
func arrayStrings(r gjson.Result) []string {
	out := make([]string, 0, 8)
	r.ForEach(func(_, v gjson.Result) bool {
		var s string
		switch v.Type {
		case gjson.Null:
			return true
		case gjson.String:
			s = strings.TrimSpace(v.Str)
		case gjson.JSON:
			s = string(compact(v.Raw))
		default:
			s = v.Raw
		}
		if s != "" {
			out = append(out, s)
		}
		return true
	})
	return out
}
