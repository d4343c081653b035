package jsontext

// MaxDepth is the nesting depth the sources accept by default. JSON
// parsers (gjson's validator and getters, encoding/json's decoder) recurse
// once per level; a line or body of millions of [ would overflow the stack.
const MaxDepth = 512

// TooDeep reports whether the JSON text s nests arrays and objects more
// than limit levels deep, and the byte offset where it first does. It is
// one linear pass that keeps no stack, so it is safe on any input.
func TooDeep[T string | []byte](s T, limit int) (bool, int) {
	if len(s) <= limit {
		// Going deeper than limit takes limit+1 opening bytes: a short
		// line (most records) needs no pass at all.
		return false, 0
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			// Skip the string: to the next quote not escaped.
			for i++; i < len(s); i++ {
				if c := s[i]; c == '\\' {
					i++
				} else if c == '"' {
					break
				}
			}
		case '[', '{':
			if depth++; depth > limit {
				return true, i
			}
		case ']', '}':
			depth = max(depth-1, 0) // a stray close must not buy room
		}
	}
	return false, 0
}
