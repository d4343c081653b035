package transform

import (
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// extractor reads every field's path from a record in one pass over the
// JSON where it can. gjson.Get scans from the start of the record for
// each path; ten paths into one "properties" object scan it ten times.
// Plain dotted paths (properties.email) are compiled into a trie instead
// and matched while walking each object once. Paths with gjson syntax
// beyond plain keys (#, *, ?, @, |, escapes, array indexes) keep using
// gjson.Get.
type extractor struct {
	root    *trieNode
	complex []complexPath
	n       int // number of slots
	simple  int // number of trie leaves
}

type trieNode struct {
	children map[string]*trieNode
	slots    []int // field slots whose path ends here
	count    int   // leaves at or below this node
}

type complexPath struct {
	slot int
	path string
}

// isPlain reports whether a path is only object keys joined by dots.
func isPlain(p string) bool {
	if p == "" || strings.ContainsAny(p, `#*?@|\!=<>()[]{}"`) {
		return false
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return false
		}
		if seg[0] >= '0' && seg[0] <= '9' {
			return false // could be an array index
		}
	}
	return true
}

func newExtractor() *extractor { return &extractor{root: &trieNode{}} }

// add registers a path and returns its slot.
func (x *extractor) add(path string) int {
	slot := x.n
	x.n++
	if !isPlain(path) {
		x.complex = append(x.complex, complexPath{slot, path})
		return slot
	}
	node := x.root
	node.count++
	for _, seg := range strings.Split(path, ".") {
		if node.children == nil {
			node.children = map[string]*trieNode{}
		}
		next := node.children[seg]
		if next == nil {
			next = &trieNode{}
			node.children[seg] = next
		}
		next.count++
		node = next
	}
	node.slots = append(node.slots, slot)
	x.simple++
	return slot
}

// extract fills out[slot] for every path. out has x.n entries.
// order, when not nil, is the caller's own memory of the root's key
// order (records of one source repeat it), which spares a map lookup
// per key.
func (x *extractor) extract(json string, out []gjson.Result, found []bool, order *keyOrder) {
	clear(found)
	for i := range out {
		out[i] = gjson.Result{}
	}
	if x.simple > 0 {
		if _, ok := x.scan(json, 0, x.root, out, found, order); !ok {
			// Not the plain JSON the scanner reads: gjson's lenient walk.
			clear(found)
			for i := range out {
				out[i] = gjson.Result{}
			}
			x.walk(json, x.root, out, found)
		}
	}
	for _, c := range x.complex {
		out[c.slot] = gjson.Get(json, c.path)
	}
}

// walk matches one object's keys against a trie node; it returns how many
// leaves it resolved, and stops early once all below the node are found.
func (x *extractor) walk(obj string, node *trieNode, out []gjson.Result, found []bool) int {
	r := gjson.Parse(obj)
	if !r.IsObject() {
		return 0
	}
	done := 0
	r.ForEach(func(k, v gjson.Result) bool {
		child := node.children[k.Str]
		if child == nil {
			return true
		}
		for _, s := range child.slots {
			if !found[s] { // the first of duplicate keys wins, as in gjson.Get
				out[s], found[s] = v, true
				done++
			}
		}
		if child.children != nil && v.IsObject() {
			done += x.walk(v.Raw, child, out, found)
		}
		return done < node.count
	})
	return done
}

// scan is walk without gjson's per-value work: it reads one object's
// keys, skips the values no path wants without parsing them, and builds
// the same gjson.Result (Type, Raw, Str, Num, Index) for the ones a path
// wants, with a whole-number fast path for Num. base is obj's offset in
// the record. ok is false on anything but well-formed JSON, which walk
// then reads as before.
func (x *extractor) scan(obj string, base int, node *trieNode, out []gjson.Result, found []bool, order *keyOrder) (done int, ok bool) {
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return 0, false // walk decides what gjson makes of it
	}
	// gjson reads keys past the root's closing brace; text there is walk's.
	closed := func(i int) bool { return node != x.root || skipWS(obj, i+1) == len(obj) }
	i = skipWS(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return 0, closed(i)
	}
	for pos := 0; i < len(obj); pos++ {
		if obj[i] != '"' {
			return done, false
		}
		end, esc := stringEnd(obj, i)
		if end < 0 {
			return done, false
		}
		key := obj[i+1 : end-1]
		if esc {
			key = gjson.Parse(obj[i:end]).Str
		}
		i = skipWS(obj, end)
		if i >= len(obj) || obj[i] != ':' {
			return done, false
		}
		i = skipWS(obj, i+1)
		vs := i
		ve, typ := valueEnd(obj, i)
		if ve < 0 || ve < len(obj) && !isDelim(obj[ve]) {
			return done, false // 0A0, truex: what gjson makes of them is walk's
		}
		var child *trieNode
		if order != nil {
			child = order.child(pos, key, node)
		} else {
			child = node.children[key]
		}
		if child != nil {
			v := gjson.Result{Type: typ, Raw: obj[vs:ve], Index: base + vs}
			switch typ {
			case gjson.String:
				v.Str = obj[vs+1 : ve-1]
				if strings.IndexByte(v.Str, '\\') >= 0 {
					v.Str = gjson.Parse(v.Raw).Str
				}
			case gjson.Number:
				v.Num = number(v.Raw)
			}
			for _, s := range child.slots {
				if !found[s] { // the first of duplicate keys wins, as in gjson.Get
					out[s], found[s] = v, true
					done++
				}
			}
			if child.children != nil && typ == gjson.JSON && obj[vs] == '{' {
				n, ok := x.scan(v.Raw, 0, child, out, found, nil) // walk's Index: within the object
				if !ok {
					return done, false
				}
				done += n
			}
			if done >= node.count {
				return done, true
			}
		}
		i = skipWS(obj, ve)
		if i >= len(obj) {
			return done, false
		}
		switch obj[i] {
		case ',':
			i = skipWS(obj, i+1)
		case '}':
			return done, closed(i)
		default:
			return done, false
		}
	}
	return done, false
}

// keyOrder remembers the keys of the last record's root object by
// position, with their trie nodes (nil: no path wants the key).
type keyOrder struct {
	keys []string
	kids []*trieNode
}

// child is node's child for the key at position pos of the root: the
// remembered one when the key is the same, else the trie's, remembered.
func (o *keyOrder) child(pos int, key string, node *trieNode) *trieNode {
	if pos < len(o.keys) && o.keys[pos] == key {
		return o.kids[pos]
	}
	c := node.children[key]
	switch {
	case pos < len(o.keys):
		o.keys[pos], o.kids[pos] = strings.Clone(key), c
	case pos == len(o.keys) && pos < 1024:
		o.keys, o.kids = append(o.keys, strings.Clone(key)), append(o.kids, c)
	}
	return c
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isDelim(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '}'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// stringEnd is the offset after the closing quote of the string at
// s[i], and whether it holds an escape; -1 when it is not closed.
func stringEnd(s string, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc
		}
	}
	return -1, esc
}

// valueEnd is the offset after the JSON value at s[i] and its gjson type;
// -1 when there is none.
func valueEnd(s string, i int) (int, gjson.Type) {
	if i >= len(s) {
		return -1, gjson.Null
	}
	switch c := s[i]; {
	case c == '"':
		e, _ := stringEnd(s, i)
		return e, gjson.String
	case c == '-' || isDigit(c):
		j := i + 1
		for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] == '+' || s[j] == '-') {
			j++
		}
		return j, gjson.Number
	case c == 't' && strings.HasPrefix(s[i:], "true"):
		return i + 4, gjson.True
	case c == 'f' && strings.HasPrefix(s[i:], "false"):
		return i + 5, gjson.False
	case c == 'n' && strings.HasPrefix(s[i:], "null"):
		return i + 4, gjson.Null
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				e, _ := stringEnd(s, j)
				if e < 0 {
					return -1, gjson.JSON
				}
				j = e - 1
			case '{', '[', '(': // ( and ) as gjson counts them
				depth++
			case '}', ']', ')':
				depth--
				if depth == 0 {
					return j + 1, gjson.JSON
				}
			}
		}
	}
	return -1, gjson.Null
}

// number is a JSON number's float64 value, as gjson computes it
// (strconv.ParseFloat); up to 15 digits with no exponent it is the
// exact integer divided by an exact power of ten, which rounds the same.
func number(raw string) float64 {
	i, neg := 0, false
	if i < len(raw) && raw[i] == '-' {
		i, neg = 1, true
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(raw); i++ {
		c := raw[i]
		switch {
		case isDigit(c):
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			digits = 99 // an exponent, or not a number: strconv decides
		}
		if digits > 15 {
			f, _ := strconv.ParseFloat(raw, 64)
			return f
		}
	}
	if digits == 0 {
		f, _ := strconv.ParseFloat(raw, 64)
		return f
	}
	f := float64(m) / pow10[frac]
	if neg {
		f = -f
	}
	return f
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}
