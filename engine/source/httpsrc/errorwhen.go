package httpsrc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crmsync/crmsync/engine/config"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/tidwall/gjson"
)

// errorEnv is what error_when sees: the decoded JSON body, the status and
// the response headers by lower-case name.
type errorEnv struct {
	Body    any               `expr:"body"`
	Status  int               `expr:"status"`
	Headers map[string]string `expr:"headers"`
}

// errorWhen is a compiled error_when: expressions tried in order; the
// first that gives true says the body reports a failure even though the
// status says success, and whether another try may help.
type errorWhen struct {
	rules []errorRule
	// paths are the body's member paths the rules read (body.a.b,
	// body?.a, body["a"]); body is built from just those, looked up in
	// the bytes. whole: some rule uses body otherwise (body itself,
	// body[x] with x not a constant string, $env) and the whole body is
	// decoded as before.
	paths   *pathNode
	whole   bool
	headers bool // some rule reads headers (or $env): build the map
}

type errorRule struct {
	src   string
	prog  *vm.Program
	retry bool // a match is retried like a 5xx (the default)
}

func compileErrorWhen(w config.ErrorWhen, at string, p *problems) *errorWhen {
	out := &errorWhen{}
	for i, r := range w {
		rat := at
		if len(w) > 1 {
			rat = at + "/" + strconv.Itoa(i)
		}
		if r.Expr == "" {
			p.errf(rat, "missing-setting", "error_when needs expr: an expression over body, status and headers")
			continue
		}
		if _, err := parser.Parse(r.Expr); err != nil {
			p.errf(rat, "expr-syntax", "error_when %q: %v", r.Expr, oneLine(err))
			continue
		}
		prog, err := expr.Compile(r.Expr, expr.Env(errorEnv{}), expr.AsBool())
		if err != nil {
			p.errf(rat, "expr-type", "error_when %q: %v (it sees body, status and headers, and must give true or false)", r.Expr, oneLine(err))
			continue
		}
		out.rules = append(out.rules, errorRule{src: r.Expr, prog: prog, retry: r.Retryable()})
		tree, _ := parser.Parse(r.Expr)
		out.collect(tree.Node)
	}
	if len(out.rules) == 0 {
		return nil
	}
	return out
}

// failed evaluates the expressions on one response: the first that
// matches, or nil.
func (w *errorWhen) failed(status int, h http.Header, body string) (*errorRule, error) {
	env := errorEnv{Status: status}
	if w.headers {
		env.Headers = make(map[string]string, len(h))
		for k, v := range h {
			env.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
		}
	}
	var err error
	if env.Body, err = w.body(body); err != nil {
		return nil, fmt.Errorf("decoding the body for error_when: %w", err)
	}
	for i := range w.rules {
		rule := &w.rules[i]
		out, err := expr.Run(rule.prog, &env)
		if err != nil {
			if _, isObject := env.Body.(map[string]any); !isObject {
				// body.status on a bare array: the body has no error field.
				continue
			}
			return nil, fmt.Errorf("error_when %q: %s", rule.src, oneLine(err))
		}
		if out.(bool) {
			return rule, nil
		}
	}
	return nil, nil
}

// oneLine keeps the first line of an expr error (the rest draws a caret).
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// pathNode is one step of the body paths the rules read: children by
// member name; use means some rule takes the value here as a whole (a
// leaf like body.status, or body.results in len(body.results)), so it is
// decoded whole; otherwise only its children are looked up.
type pathNode struct {
	use      bool
	children map[string]*pathNode
	order    []string // the children's names; a child's index is its place here
	index    int
}

func (n *pathNode) child(name string) *pathNode {
	if n.children == nil {
		n.children = map[string]*pathNode{}
	}
	c := n.children[name]
	if c == nil {
		c = &pathNode{index: len(n.order)}
		n.children[name] = c
		n.order = append(n.order, name)
	}
	return c
}

// bodyChain is the member names of a chain of constant-string member
// accesses rooted at the identifier body (body.a["b"]?.c → a, b, c), or
// ok false.
func bodyChain(n ast.Node) (names []string, ok bool) {
	switch n := n.(type) {
	case *ast.IdentifierNode:
		return nil, n.Value == "body"
	case *ast.MemberNode:
		prop, isString := n.Property.(*ast.StringNode)
		if !isString || n.Method {
			return nil, false
		}
		names, ok = bodyChain(n.Node)
		return append(names, prop.Value), ok
	}
	return nil, false
}

// collect records what one rule's tree reads of body and headers. Every
// maximal chain body.a.b… with constant string names is a path; any other
// use of body (alone, body[i], body[x], let b = body, $env) needs the
// whole body.
func (w *errorWhen) collect(root ast.Node) {
	c := &chainCollector{bases: map[ast.Node]bool{}}
	ast.Walk(&root, c)
	if w.paths == nil {
		w.paths = &pathNode{}
	}
	for _, m := range c.chains {
		if c.bases[m] {
			continue // the base of a longer chain: only that one is read
		}
		names, _ := bodyChain(m)
		n := w.paths
		for _, name := range names {
			n = n.child(name)
		}
		n.use = true
	}
	for _, id := range c.bodies {
		if !c.bases[id] {
			w.whole = true
		}
	}
	w.headers = w.headers || c.headers
	if c.env {
		w.whole, w.headers = true, true
	}
}

type chainCollector struct {
	chains  []ast.Node        // member nodes that are body chains
	bodies  []ast.Node        // identifier nodes named body
	bases   map[ast.Node]bool // nodes that are the base of a body chain
	headers bool
	env     bool // $env: the whole environment by name
}

func (c *chainCollector) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		switch n.Value {
		case "body":
			c.bodies = append(c.bodies, n)
		case "headers":
			c.headers = true
		case "$env":
			c.env = true
		}
	case *ast.MemberNode:
		if _, ok := bodyChain(n); ok {
			c.chains = append(c.chains, n)
			c.bases[n.Node] = true
		}
	}
}

// body is the body as the rules see it. With whole it is decoded
// whole. Otherwise, for an object, a map holding just the paths the rules
// read, each value as encoding/json would decode it (the last of
// duplicate keys, escapes, numbers as float64, invalid UTF-8 replaced);
// a member missing from the body is missing from the map, so body.a,
// body?.a.b and their errors are what they were on the whole body. A
// bare array becomes an empty one (the rules only read named members,
// which fail the same way on any array; indexing it makes whole true); a
// scalar body is decoded (it is small).
//
// One difference from decoding the whole body: a number out of float64's
// range fails error_when only where a rule reads it.
func (w *errorWhen) body(raw string) (any, error) {
	if w.whole {
		return decodeWhole(raw)
	}
	v := gjson.Parse(raw)
	switch {
	case v.IsObject():
		return pick(v, w.paths)
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
func pick(obj gjson.Result, n *pathNode) (map[string]any, error) {
	if len(n.order) == 0 {
		return map[string]any{}, nil // no rule reads a member here (status == 200 only)
	}
	var buf [4]gjson.Result
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

// value is v as encoding/json decodes it into an any: whole when a rule
// uses it whole or it is not an object, else only the members n reads.
func value(v gjson.Result, n *pathNode) (any, error) {
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
