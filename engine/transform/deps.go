package transform

import (
	"sort"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// exprOrder finds which fields each expression reads and orders the
// expression fields so that every one runs after those it reads.
func (c *compiler) exprOrder() ([]*Field, bool) {
	var exprFields []*Field
	for _, f := range c.p.fields {
		cf := c.cfg[f.Name]
		if cf.Expr == "" {
			continue
		}
		tree, err := parser.Parse(cf.Expr)
		if err != nil {
			c.exprError(c.fieldPath(f.Name)+"/expr", err, "expr-syntax")
			continue
		}
		names := identifiers(tree.Node)
		for _, n := range names {
			if _, ok := c.byName[n]; ok && n != f.Name {
				c.refs[f.Name] = append(c.refs[f.Name], n)
			}
			if n == f.Name {
				c.add(c.fieldPath(f.Name)+"/expr", "field-cycle", "field %q reads itself", f.Name)
			}
		}
		exprFields = append(exprFields, f)
	}
	// Depth-first topological sort over expression fields.
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var order []*Field
	var stack []string
	ok := true
	var visit func(name string)
	visit = func(name string) {
		switch state[name] {
		case 2:
			return
		case 1:
			i := len(stack) - 1
			for i >= 0 && stack[i] != name {
				i--
			}
			cycle := append(append([]string{}, stack[i:]...), name)
			c.add(c.fieldPath(name)+"/expr", "field-cycle", "fields form a cycle: %s", strings.Join(cycle, " → "))
			ok = false
			return
		}
		state[name] = 1
		stack = append(stack, name)
		for _, dep := range c.refs[name] {
			if c.cfg[dep].Expr != "" {
				visit(dep)
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = 2
		order = append(order, c.byName[name])
	}
	for _, f := range exprFields {
		if state[f.Name] == 0 {
			visit(f.Name)
		}
	}
	return order, ok
}

// identifiers lists the names an expression reads: identifiers that are
// neither the callee of a call (those name functions) nor bound by let.
func identifiers(n ast.Node) []string {
	var names []string
	for _, id := range freeIdentifiers(n) {
		names = append(names, id.Value)
	}
	sort.Strings(names)
	return names
}

// freeIdentifiers are the identifier nodes that must come from the
// environment.
func freeIdentifiers(n ast.Node) []*ast.IdentifierNode {
	v := &identVisitor{callees: map[*ast.IdentifierNode]bool{}, bound: map[string]bool{}}
	ast.Walk(&n, v)
	var out []*ast.IdentifierNode
	for _, id := range v.ids {
		if !v.callees[id] && !v.bound[id.Value] {
			out = append(out, id)
		}
	}
	return out
}

type identVisitor struct {
	ids     []*ast.IdentifierNode
	callees map[*ast.IdentifierNode]bool
	bound   map[string]bool // let names
}

func (v *identVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok {
			v.callees[id] = true
		}
	case *ast.VariableDeclaratorNode:
		v.bound[x.Name] = true
	case *ast.IdentifierNode:
		v.ids = append(v.ids, x)
	}
}
