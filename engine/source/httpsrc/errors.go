package httpsrc

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// snippetLen is how much of a bad body an error quotes.
const snippetLen = 200

// requestError is a failed page: it names the entity, the page, the
// request (with secrets redacted), the status and the start of the body.
type requestError struct {
	entity  string
	page    int
	method  string
	url     string // redacted
	status  int    // 0: no response
	msg     string // redacted
	snippet string // redacted start of the body
	err     error
}

func (e *requestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "entity %q: page %d: %s %s", e.entity, e.page, e.method, e.url)
	if e.status != 0 {
		b.WriteString(": status " + strconv.Itoa(e.status))
	}
	b.WriteString(": " + e.msg)
	if e.snippet != "" {
		fmt.Fprintf(&b, "; body starts %q", e.snippet)
	}
	return b.String()
}

func (e *requestError) Unwrap() error { return e.err }

// snippet returns the first snippetLen bytes of a body, cut on a rune
// boundary.
func snippet(body string) string {
	if len(body) <= snippetLen {
		return body
	}
	i := snippetLen
	for i > 0 && !utf8.RuneStart(body[i]) {
		i--
	}
	return body[:i] + "…"
}
