package httpsrc

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// varKind names what a {{ }} hole of a template stands for.
type varKind uint8

const (
	varLiteral varKind = iota
	varWatermark
	varWindowStart
	varWindowEnd
	varParent
	varNow
	varJob // job.id, or job.<path> of the last poll body
)

// tpart is one piece of a template: literal text or a variable.
type tpart struct {
	kind varKind
	text string // the literal, or the variable as written (for messages)
	path string // gjson path of a parent variable
}

// template is a string with {{ name }} holes, parsed once at compile time.
type template struct {
	src   string
	parts []tpart
}

// vars are the values a template can use during one read.
type vars struct {
	watermark  string
	start, end string
	parent     string // JSON of the parent record
	now        string
	// jobID and jobBody are the asynchronous job's id and last poll
	// response, once the job is done.
	jobID, jobBody string
}

// parseTemplate splits s into literal and variable parts. A variable is
// watermark, window.start, window.end, now or parent.<gjson path>.
func parseTemplate(s string) (template, error) {
	t := template{src: s}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, tpart{text: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tpart{text: rest[:i]})
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return t, fmt.Errorf("%q opens {{ without closing it with }}", s)
		}
		name := strings.TrimSpace(rest[i+2 : i+j])
		p, err := parseVar(name)
		if err != nil {
			return t, err
		}
		t.parts = append(t.parts, p)
		rest = rest[i+j+2:]
	}
	return t, nil
}

func parseVar(name string) (tpart, error) {
	p := tpart{text: "{{ " + name + " }}"}
	switch name {
	case "watermark":
		p.kind = varWatermark
	case "window.start":
		p.kind = varWindowStart
	case "window.end":
		p.kind = varWindowEnd
	case "now":
		p.kind = varNow
	default:
		if path, ok := strings.CutPrefix(name, "job."); ok {
			if err := checkPath(path); err != nil {
				return p, fmt.Errorf("variable {{ %s }}: invalid gjson path: %w", name, err)
			}
			p.kind, p.path = varJob, path
			return p, nil
		}
		path, ok := strings.CutPrefix(name, "parent.")
		if !ok {
			return p, fmt.Errorf("unknown variable {{ %s }}: want watermark, window.start, window.end, now, parent.<path>, job.id or job.<path>", name)
		}
		if err := checkPath(path); err != nil {
			return p, fmt.Errorf("variable {{ %s }}: invalid gjson path: %w", name, err)
		}
		p.kind, p.path = varParent, path
	}
	return p, nil
}

// constant reports whether the template has no variables.
func (t *template) constant() bool {
	return len(t.parts) == 0 || (len(t.parts) == 1 && t.parts[0].kind == varLiteral)
}

// single returns the template's only part when it is one variable.
func (t *template) single() *tpart {
	if len(t.parts) == 1 && t.parts[0].kind != varLiteral {
		return &t.parts[0]
	}
	return nil
}

// uses reports whether the template has a variable of kind k.
func (t *template) uses(k varKind) bool {
	for _, p := range t.parts {
		if p.kind == k {
			return true
		}
	}
	return false
}

// value returns the value of a variable part.
func (p *tpart) value(v *vars) string {
	switch p.kind {
	case varWatermark:
		return v.watermark
	case varWindowStart:
		return v.start
	case varWindowEnd:
		return v.end
	case varNow:
		return v.now
	case varParent:
		return gjson.Get(v.parent, p.path).String()
	case varJob:
		if p.path == "id" {
			return v.jobID
		}
		return gjson.Get(v.jobBody, p.path).String()
	}
	return p.text
}

// render fills the template. escape, when set, is applied to variable
// values only (URL path segments). empty names the first variable that
// rendered empty, "" when none did.
func (t *template) render(v *vars, escape func(string) string) (out, empty string) {
	if t.constant() {
		return t.src, ""
	}
	var b strings.Builder
	for i := range t.parts {
		p := &t.parts[i]
		if p.kind == varLiteral {
			b.WriteString(p.text)
			continue
		}
		s := p.value(v)
		if s == "" && empty == "" {
			empty = p.text
		}
		if escape != nil {
			s = escape(s)
		}
		b.WriteString(s)
	}
	return b.String(), empty
}
