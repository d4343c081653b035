package httpsrc

import "strings"

// link is one link-value of an RFC 8288 Link header.
type link struct {
	uri    string
	params map[string]string // lower-case names
}

// nextLink returns the URI of the first link whose rel holds "next".
func nextLink(headers []string) string {
	for _, h := range headers {
		for _, l := range parseLinks(h) {
			for _, rel := range strings.Fields(l.params["rel"]) {
				if strings.EqualFold(rel, "next") {
					return l.uri
				}
			}
		}
	}
	return ""
}

// parseLinks reads a Link header value: link-values separated by commas,
// each `<uri>` followed by `; name=value` parameters whose values may be
// quoted strings holding commas, semicolons and escapes. A malformed
// link-value is skipped up to the next comma outside quotes.
func parseLinks(s string) []link {
	var out []link
	i := 0
	for i < len(s) {
		i = skip(s, i, " \t,")
		if i >= len(s) {
			break
		}
		if s[i] != '<' {
			i = skipLinkValue(s, i)
			continue
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			break
		}
		l := link{uri: strings.TrimSpace(s[i+1 : i+end]), params: map[string]string{}}
		i += end + 1
		for {
			i = skip(s, i, " \t")
			if i >= len(s) || s[i] != ';' {
				break
			}
			i = skip(s, i+1, " \t")
			start := i
			for i < len(s) && !strings.ContainsRune("=;, \t", rune(s[i])) {
				i++
			}
			name := strings.ToLower(strings.TrimSuffix(s[start:i], "*"))
			i = skip(s, i, " \t")
			val := ""
			if i < len(s) && s[i] == '=' {
				i = skip(s, i+1, " \t")
				val, i = paramValue(s, i)
			}
			if _, dup := l.params[name]; !dup && name != "" {
				l.params[name] = val // RFC 8288: only the first rel counts
			}
		}
		out = append(out, l)
		if i < len(s) && s[i] != ',' {
			i = skipLinkValue(s, i)
		}
	}
	return out
}

// paramValue reads a token or a quoted string starting at i.
func paramValue(s string, i int) (string, int) {
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		for i++; i < len(s); i++ {
			switch c := s[i]; c {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return b.String(), i + 1
			default:
				b.WriteByte(c)
			}
		}
		return b.String(), i
	}
	start := i
	for i < len(s) && !strings.ContainsRune(";, \t", rune(s[i])) {
		i++
	}
	return s[start:i], i
}

// skipLinkValue moves past the rest of a link-value, to its comma.
func skipLinkValue(s string, i int) int {
	inQuote := false
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				return i
			}
		}
	}
	return i
}

func skip(s string, i int, set string) int {
	for i < len(s) && strings.IndexByte(set, s[i]) >= 0 {
		i++
	}
	return i
}
