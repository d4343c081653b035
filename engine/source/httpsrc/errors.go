package httpsrc

import (
	"fmt"
	"log/slog"
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
	page    step
	method  string
	url     string // redacted
	status  int    // 0: no response
	msg     string // redacted
	snippet string // redacted start of the body
	err     error
}

func (e *requestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "entity %q: %s: %s %s", e.entity, e.page, e.method, e.url)
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

// step names the request of an error or a log line: a page of records,
// or a step of an asynchronous job ("job start", "job poll 3").
type step struct {
	page int
	job  string
}

func (s step) String() string {
	if s.job != "" {
		return s.job
	}
	return "page " + strconv.Itoa(s.page)
}

// attr is the step as a log attribute: page=N, or step=<job step>.
func (s step) attr() slog.Attr {
	if s.job != "" {
		return slog.String("step", s.job)
	}
	return slog.Int("page", s.page)
}
