package httpsrc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// bodyNode is a JSON value of a request body whose strings may hold
// {{ }} variables. Subtrees without variables are encoded once.
type bodyNode struct {
	raw   []byte      // the whole node, when it has no variables
	str   *template   // a string with variables
	keys  []string    // object keys, sorted, or nil
	items []*bodyNode // object values (in key order) or array items
	array bool
}

// bodyKV is a top-level body key set at run time (a cursor, a watermark).
type bodyKV struct {
	key string
	raw []byte // JSON value
}

// compileBody turns the YAML value of request.body into a bodyNode and
// reports bad templates at their JSON pointers.
func compileBody(v any, at string) (*bodyNode, []source.Problem) {
	var probs []source.Problem
	n := compileNode(v, at, &probs)
	return n, probs
}

func compileNode(v any, at string, probs *[]source.Problem) *bodyNode {
	switch x := v.(type) {
	case string:
		t, err := parseTemplate(x)
		if err != nil {
			*probs = append(*probs, source.Problem{Path: at, Code: "bad-template", Message: err.Error()})
		}
		if err != nil || t.constant() {
			raw, _ := json.Marshal(x)
			return &bodyNode{raw: raw}
		}
		return &bodyNode{str: &t}
	case map[string]any:
		n := &bodyNode{}
		for k := range x {
			n.keys = append(n.keys, k)
		}
		slices.Sort(n.keys)
		for _, k := range n.keys {
			n.items = append(n.items, compileNode(x[k], at+"/"+escapePointer(k), probs))
		}
		return n.fold()
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[fmt.Sprint(k)] = val
		}
		return compileNode(m, at, probs)
	case []any:
		n := &bodyNode{array: true}
		for i, it := range x {
			n.items = append(n.items, compileNode(it, at+"/"+strconv.Itoa(i), probs))
		}
		return n.fold()
	}
	raw, err := json.Marshal(v)
	if err != nil {
		*probs = append(*probs, source.Problem{Path: at, Code: "invalid-value",
			Message: fmt.Sprintf("the value %v cannot be written as JSON: %v", v, err)})
		raw = []byte("null")
	}
	return &bodyNode{raw: raw}
}

// fold encodes a container once when none of its children has variables.
func (n *bodyNode) fold() *bodyNode {
	for _, it := range n.items {
		if it.raw == nil {
			return n
		}
	}
	n.raw = n.appendTo(nil, nil, nil)
	return n
}

// uses reports whether a variable of kind k appears anywhere in the body.
func (n *bodyNode) uses(k varKind) bool {
	if n == nil {
		return false
	}
	if n.str != nil {
		return n.str.uses(k)
	}
	for _, it := range n.items {
		if it.uses(k) {
			return true
		}
	}
	return false
}

// appendTo writes the node as JSON. extra replaces or adds top-level
// object keys; it is only given for the root.
func (n *bodyNode) appendTo(b []byte, v *vars, extra []bodyKV) []byte {
	if n.raw != nil && len(extra) == 0 {
		return append(b, n.raw...)
	}
	if n.str != nil {
		// A string that is one {{ parent.<path> }} and finds an array or
		// an object (a batch of parents: {{ parent.#.{id} }}) is that JSON.
		if p := n.str.single(); p != nil && p.kind == varParent {
			if r := gjson.Get(v.parent, p.path); r.IsArray() || r.IsObject() {
				return append(b, r.Raw...)
			}
		}
		s, _ := n.str.render(v, nil)
		return gjson.AppendJSONString(b, s)
	}
	if n.array {
		b = append(b, '[')
		for i, it := range n.items {
			if i > 0 {
				b = append(b, ',')
			}
			b = it.appendTo(b, v, nil)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	for i, k := range n.keys {
		if slices.ContainsFunc(extra, func(e bodyKV) bool { return e.key == k }) {
			continue
		}
		sep()
		b = gjson.AppendJSONString(b, k)
		b = append(b, ':')
		b = n.items[i].appendTo(b, v, nil)
	}
	for _, e := range extra {
		sep()
		b = gjson.AppendJSONString(b, e.key)
		b = append(b, ':')
		b = append(b, e.raw...)
	}
	return append(b, '}')
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(k string) string {
	out := make([]byte, 0, len(k))
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case '~':
			out = append(out, '~', '0')
		case '/':
			out = append(out, '~', '1')
		default:
			out = append(out, k[i])
		}
	}
	return string(out)
}
