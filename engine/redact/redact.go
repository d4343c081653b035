// Package redact hides secrets in text crmsync prints or stores: the
// secret itself and every form it takes on its way out of an API or a
// driver — URL-escaped (upper or lower hex, + for space), escaped inside
// a JSON string (\/, \u0026), base64 in its four alphabets, HTML-escaped.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mark is what a redacted secret becomes.
const Mark = "[redacted]"

// MinLen is the shortest value redacted: shorter ones would hide
// ordinary words, and a secret that short is no secret anyway.
const MinLen = 4

// Forms returns s and the forms it takes when escaped or encoded, each
// once, longest first.
func Forms(s string) []string {
	if len(s) < MinLen {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if len(f) >= MinLen && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	add(s)
	for _, f := range []string{url.QueryEscape(s), url.PathEscape(s), componentEscape(s)} {
		add(f)
		add(lowerHex(f))
	}
	for _, f := range []string{jsonInner(s, false), jsonInner(s, true)} {
		add(f)
		add(strings.ReplaceAll(f, "/", `\/`)) // PHP, and others, escape the slash
	}
	add(jsonAll(s))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString([]byte(s)))
	}
	h := html.EscapeString(s) // &amp; &lt; &gt; &#39; &#34;
	add(h)
	add(strings.NewReplacer("&#39;", "&#x27;", "&#34;", "&quot;").Replace(h))
	add(strings.NewReplacer("&#39;", "&apos;", "&#34;", "&quot;").Replace(h))
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Replacer replaces every form of every secret by Mark, longest first so
// that a secret that starts another never leaves its tail; nil when there
// is nothing to hide.
func Replacer(secrets []string) *strings.Replacer {
	seen := map[string]bool{}
	var forms []string
	for _, s := range secrets {
		for _, f := range Forms(s) {
			if !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	if len(forms) == 0 {
		return nil
	}
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Mark)
	}
	return strings.NewReplacer(pairs...)
}

var hexEscape = regexp.MustCompile(`%[0-9A-F]{2}`)

// lowerHex is a %XX-escaped text with lower-case hex digits, as some
// clients and servers write it.
func lowerHex(s string) string {
	return hexEscape.ReplaceAllStringFunc(s, strings.ToLower)
}

// componentEscape escapes like JavaScript's encodeURIComponent: space is
// %20 and only A-Z a-z 0-9 - _ . ! ~ * ' ( ) stay as they are.
func componentEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// jsonInner is s as it stands inside a JSON string, with or without Go's
// HTML escaping (\u0026 for &, \u003c, \u003e).
func jsonInner(s string, escapeHTML bool) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	enc.Encode(s)
	out := strings.TrimSpace(b.String())
	return out[1 : len(out)-1]
}

// jsonAll is s inside a JSON string with every character that is not a
// letter or digit written as \u00XX (as some encoders write punctuation).
func jsonAll(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for _, r := range s {
		if r < 128 && ('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9') {
			b.WriteRune(r)
			continue
		}
		if r > 0xFFFF {
			b.WriteRune(r)
			continue
		}
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hex[(r>>uint(shift))&15])
		}
	}
	return b.String()
}
