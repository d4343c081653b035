// Package jsonpick builds, from JSON bytes, the value an expression over
// one JSON variable sees (error_when's body, a transform's raw) holding
// only the member paths the expressions read, each exactly as
// encoding/json would decode it into an any. The paths come from the
// expressions' trees: every maximal chain name.a["b"]?.c with constant
// string names is a path; any other use of the variable needs the whole
// value, which is then decoded with encoding/json as before.
package jsonpick

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/tidwall/gjson"
)

// Set is what a set of expressions reads of the variable Name.
type Set struct {
	Name string
	// Whole: some expression uses the variable otherwise than through a
	// constant member chain (the variable alone, name[x] with x not a
	// constant string, name[0], "a" in name, $env), so it is decoded
	// whole.
	Whole bool
	root  Node
}

// New is an empty set for the variable name.
func New(name string) *Set { return &Set{Name: name} }

// Node is one step of the paths: children by member name; use means an
// expression takes the value here as a whole (a leaf like body.status, or
// body.results in len(body.results)), so it is decoded whole; otherwise
// only its children are looked up.
type Node struct {
	use      bool
	children map[string]*Node
	order    []string // the children's names; a child's index is its place here
	index    int
}

func (n *Node) child(name string) *Node {
	if n.children == nil {
		n.children = map[string]*Node{}
	}
	c := n.children[name]
	if c == nil {
		c = &Node{index: len(n.order)}
		n.children[name] = c
		n.order = append(n.order, name)
	}
	return c
}

// Paths lists the paths sorted, dot-separated: leaves bare, an inner
// path also read whole with a trailing *.
func (s *Set) Paths() []string { return s.root.list("") }

func (n *Node) list(prefix string) []string {
	var out []string
	names := slices.Clone(n.order)
	slices.Sort(names)
	for _, k := range names {
		c := n.children[k]
		switch {
		case len(c.children) == 0:
			out = append(out, prefix+k)
		case c.use:
			out = append(out, prefix+k+"*")
		}
		out = append(out, c.list(prefix+k+".")...)
	}
	return out
}

// chain is the member names of a chain of constant-string member accesses
// rooted at the identifier name (body.a["b"]?.c → a, b, c), or ok false.
func chain(name string, n ast.Node) (names []string, ok bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return nil, n.Value == name
	case *ast.MemberNode:
		prop, isString := n.Property.(*ast.StringNode)
		if !isString || n.Method {
			return nil, false
		}
		names, ok = chain(name, n.Node)
		return append(names, prop.Value), ok
	}
	return nil, false
}

// Add records what one expression's tree reads of the variable.
func (s *Set) Add(root ast.Node) {
	c := &collector{name: s.Name, bases: map[ast.Node]bool{}}
	ast.Walk(&root, c)
	for _, m := range c.chains {
		if c.bases[m] {
			continue // the base of a longer chain: only that one is read
		}
		names, _ := chain(s.Name, m)
		n := &s.root
		for _, name := range names {
			n = n.child(name)
		}
		n.use = true
	}
	for _, id := range c.idents {
		if !c.bases[id] {
			s.Whole = true
		}
	}
	if c.env {
		s.Whole = true
	}
}

type collector struct {
	name   string
	chains []ast.Node        // member nodes that are chains from name
	idents []ast.Node        // identifier nodes called name
	bases  map[ast.Node]bool // nodes that are the base of a chain
	env    bool              // $env: the whole environment by name
}

func (c *collector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		switch n.Value {
		case c.name:
			c.idents = append(c.idents, n)
		case "$env":
			c.env = true
		}
	case *ast.MemberNode:
		if _, ok := chain(c.name, n); ok {
			c.chains = append(c.chains, n)
			c.bases[n.Node] = true
		}
	}
}

// Value is the variable as the expressions see it. With Whole it is
// decoded whole. Otherwise, for an object, a map holding just the paths
// the expressions read, each value as encoding/json would decode it (the
// last of duplicate keys, escapes, numbers as float64, invalid UTF-8
// replaced); a member missing from the JSON is missing from the map, so
// name.a, name?.a.b and their errors are what they were on the whole
// value. A bare array becomes an empty one (the expressions only read
// named members, which fail the same way on any array; indexing it makes
// Whole true); a scalar is decoded (it is small).
//
// One difference from decoding the whole value: a number out of
// float64's range fails only where an expression reads it.
func (s *Set) Value(raw string) (any, error) {
	if s.Whole {
		return decodeWhole(raw)
	}
	v := gjson.Parse(raw)
	switch {
	case v.IsObject():
		return pick(v, &s.root)
	case v.IsArray():
		return []any{}, nil
	}
	return decodeWhole(raw)
}

func decodeWhole(raw string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// pick builds the map of obj's members that n reads, in one pass over
// obj: the last member of each name (encoding/json keeps the last of
// duplicate keys), names compared unescaped.
func pick(obj gjson.Result, n *Node) (map[string]any, error) {
	if len(n.order) == 0 {
		return map[string]any{}, nil // no expression reads a member here
	}
	var buf [8]gjson.Result
	found := buf[:0]
	if len(n.order) > len(buf) {
		found = make([]gjson.Result, 0, len(n.order))
	}
	found = found[:len(n.order)]
	obj.ForEach(func(k, v gjson.Result) bool {
		if c := n.children[k.Str]; c != nil {
			found[c.index] = v
		}
		return true
	})
	out := make(map[string]any, len(n.order))
	for i, name := range n.order {
		if !found[i].Exists() {
			continue
		}
		v, err := value(found[i], n.children[name])
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

// value is v as encoding/json decodes it into an any: whole when an
// expression uses it whole or it is not an object, else only the members
// n reads.
func value(v gjson.Result, n *Node) (any, error) {
	switch v.Type {
	case gjson.Null:
		return nil, nil
	case gjson.True:
		return true, nil
	case gjson.False:
		return false, nil
	case gjson.Number:
		if f, err := strconv.ParseFloat(v.Raw, 64); err == nil {
			return f, nil
		}
	case gjson.String:
		if !strings.Contains(v.Raw, `\`) && utf8.ValidString(v.Str) {
			return v.Str, nil
		}
	case gjson.JSON:
		if !n.use && v.IsObject() {
			return pick(v, n)
		}
	}
	// Out-of-range numbers (the same error as before), strings with
	// escapes or invalid UTF-8, arrays, objects used whole.
	return decodeWhole(v.Raw)
}
