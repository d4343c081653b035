package transform

import (
	"errors"
	"strings"

	"github.com/crmsync/crmsync/engine/validate"
	"github.com/tidwall/gjson"
)

// checkPath finds what makes a gjson path unusable; gjson itself never
// says, it just finds nothing. "" means the path is fine.
func checkPath(p string) string {
	if strings.TrimSpace(p) != p {
		return "it starts or ends with a space"
	}
	if strings.HasPrefix(p, ".") || (strings.HasSuffix(p, ".") && !strings.HasSuffix(p, `\.`)) {
		return "it starts or ends with a dot"
	}
	if strings.Contains(p, "..") {
		return "it has an empty segment (..)"
	}
	depth, inQuote := 0, false
	for i := 0; i < len(p); i++ {
		switch ch := p[i]; {
		case ch == '\\':
			i++
		case ch == '"':
			inQuote = !inQuote
		case inQuote:
		case ch == '(' || ch == '[' || ch == '{':
			depth++
		case ch == ')' || ch == ']' || ch == '}':
			depth--
			if depth < 0 {
				return "it closes a bracket it never opened"
			}
		}
	}
	if inQuote {
		return "a quote is not closed"
	}
	if depth != 0 {
		return "a bracket is not closed"
	}
	// Modifiers must exist: @reverse, @this, …
	for _, seg := range strings.Split(p, "|") {
		seg = strings.TrimSpace(seg)
		if !strings.HasPrefix(seg, "@") {
			continue
		}
		name := strings.TrimPrefix(seg, "@")
		if i := strings.IndexAny(name, ":.|"); i >= 0 {
			name = name[:i]
		}
		if !gjson.ModifierExists(name, nil) {
			return "unknown modifier @" + name
		}
	}
	return ""
}

func asUnknown(err error, target **validate.UnknownError) bool { return errors.As(err, target) }
