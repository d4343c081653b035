package httpsrc

import (
	"errors"
	"fmt"
)

// checkPath rejects gjson paths that gjson would silently read as "not
// found": empty paths and segments, unbalanced brackets or quotes, a
// dangling escape. gjson itself has no validator.
func checkPath(p string) error {
	if p == "" {
		return errors.New("the path is empty")
	}
	var stack []byte
	inStr, segLen := false, 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' {
			if i == len(p)-1 {
				return errors.New("the path ends with a lone backslash")
			}
			i++
			segLen++
			continue
		}
		if inStr {
			if c == '"' {
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			if len(stack) > 0 {
				inStr = true
			}
		case '(', '[', '{':
			stack = append(stack, c)
		case ')', ']', '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return fmt.Errorf("unbalanced %q at character %d", c, i+1)
			}
			stack = stack[:len(stack)-1]
		case '.', '|':
			if len(stack) == 0 {
				if segLen == 0 {
					return fmt.Errorf("empty segment before %q at character %d", c, i+1)
				}
				segLen = 0
				continue
			}
		}
		segLen++
	}
	switch {
	case inStr:
		return errors.New("unterminated string")
	case len(stack) > 0:
		return fmt.Errorf("unclosed %q", stack[len(stack)-1])
	case segLen == 0:
		return errors.New("the path ends with an empty segment")
	}
	return nil
}

// projectionPrefixes lists the parts of a path before each # projection
// (data.#.item → data): gjson finds nothing at all when such a part is
// null, which for a records path means an empty page, not a missing one.
func projectionPrefixes(p string) []string {
	var out []string
	depth, inStr := 0, false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			i++
		case inStr:
			if c == '"' {
				inStr = false
			}
		case c == '"' && depth > 0:
			inStr = true
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == '#' && depth == 0 && i > 1 && p[i-1] == '.' && (i+1 == len(p) || p[i+1] == '.' || p[i+1] == '|'):
			out = append(out, p[:i-1])
		}
	}
	return out
}
