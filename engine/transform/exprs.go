package transform

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/exprfn"
	"github.com/crmsync/crmsync/engine/jsonpick"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
)

// sample returns a value of a field's Go type, for the type checker.
func sample(t value.Type) any {
	switch t {
	case value.Integer:
		return int64(0)
	case value.Decimal:
		return decimal.Decimal{} // exprfn overloads + - * / and comparisons for it
	case value.Float:
		return float64(0)
	case value.Boolean:
		return false
	case value.Date, value.Datetime:
		return time.Time{}
	case value.StringArray:
		return []string{}
	case value.JSON:
		return map[string]any{}
	}
	return ""
}

// env is the checker's view of the expression variables.
func (c *compiler) env() map[string]any {
	env := map[string]any{
		"raw": map[string]any{},
		"ctx": map[string]any{"pipeline": "", "entity": "", "sync_started_at": time.Time{}, "file": "", "row": 0},
	}
	for k, v := range c.o.Extra {
		env[k] = v
	}
	if len(c.o.Lookups) > 0 {
		l := make(map[string]any, len(c.o.Lookups))
		for _, n := range c.o.Lookups {
			l[n] = nil
		}
		env["lookup"] = l
	}
	for _, f := range c.p.fields {
		env[f.Name] = sample(f.Type)
	}
	return env
}

// expr compiles an expression over the entity's variables.
func (c *compiler) expr(path, src string, extra ...expr.Option) *vm.Program {
	return c.compileWith(path, src, c.env(), extra...)
}

// compileWith parses and compiles one expression against env, reports
// what is wrong with it, and marks the fields it reads so the processor
// keeps them in the expression environment.
func (c *compiler) compileWith(path, src string, env map[string]any, extra ...expr.Option) *vm.Program {
	if _, err := parser.Parse(src); err != nil {
		c.exprError(path, err, "expr-syntax")
		return nil
	}
	opts := append([]expr.Option{expr.Env(env)}, exprfn.Options()...)
	prog, err := expr.Compile(src, append(opts, extra...)...)
	if err != nil {
		code := "expr-type"
		if strings.Contains(err.Error(), "unknown name") {
			code = "expr-unknown-name"
		}
		c.exprError(path, err, code)
		return nil
	}
	// expr does not check every argument of every function (builtin
	// names such as concat and split skip it): a name the environment
	// lacks would run as nil. Lint says so instead.
	for _, id := range freeIdentifiers(prog.Node()) {
		if _, ok := env[id.Value]; !ok {
			var names []string
			for k := range env {
				names = append(names, k)
			}
			sort.Strings(names)
			msg := "unknown name " + id.Value
			if s := diag.Suggest(id.Value, names); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += " (expressions read the entity's fields by name, raw and ctx)"
			}
			c.problems = append(c.problems, diag.Problem{Path: path, Code: "expr-unknown-name",
				Message: "expression: " + msg, Offset: id.Location().From + 1})
			return nil
		}
	}
	if len(c.o.Lookups) > 0 {
		for _, m := range lookupNames(prog.Node()) {
			if !slices.Contains(c.o.Lookups, m.name) {
				msg := fmt.Sprintf("unknown lookup %q (source.lookups: %s)", m.name, strings.Join(c.o.Lookups, ", "))
				if s := diag.Suggest(m.name, c.o.Lookups); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				c.problems = append(c.problems, diag.Problem{Path: path, Code: "expr-unknown-name", Message: "expression: " + msg, Offset: m.offset})
				return nil
			}
		}
	}
	readsRaw := false
	for _, n := range identifiers(prog.Node()) {
		switch n {
		case "raw":
			if !c.p.usesRaw {
				c.p.usesRaw, c.p.raw = true, jsonpick.New("raw")
			}
			if !readsRaw {
				readsRaw = true
				tree, _ := parser.Parse(src) // parsed above without error
				c.p.raw.Add(tree.Node)
			}
		case "ctx":
			c.p.usesCtx = true
		case "lookup":
			c.p.usesLookup = true
		}
		if f, ok := c.byName[n]; ok {
			f.inEnv = true
		}
	}
	return prog
}

func (c *compiler) exprError(path string, err error, code string) {
	msg, offset := err.Error(), 0
	if fe, ok := err.(*file.Error); ok {
		msg = fe.Message
		offset = fe.Column + 1
	}
	if code == "expr-unknown-name" {
		name := strings.TrimSpace(strings.TrimPrefix(msg, "unknown name"))
		var names []string
		for n := range c.byName {
			names = append(names, n)
		}
		sort.Strings(names)
		if s := diag.Suggest(name, append(names, exprfn.Names()...)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += " (expressions read the entity's fields by name, raw and ctx)"
		}
	}
	if strings.Contains(msg, "is not callable") {
		msg += " (a field of this entity has the name of the function: rename the field)"
	}
	c.problems = append(c.problems, diag.Problem{Path: path, Code: code, Message: "expression: " + msg, Offset: offset})
}

func (c *compiler) compileExpr(f *Field, cf *config.Field) {
	prog := c.expr(c.fieldPath(f.Name)+"/expr", cf.Expr)
	if prog == nil {
		return
	}
	f.prog = prog
	if cf.Type == "" {
		f.Type = typeOf(prog.Node().Type())
		c.converter(f, cf)
	}
}

// typeOf infers a field type from an expression's result type.
func typeOf(t reflect.Type) value.Type {
	if t == nil {
		return value.String
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return value.Integer
	case reflect.Float32, reflect.Float64:
		return value.Float
	case reflect.Bool:
		return value.Boolean
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return value.StringArray
		}
		return value.JSON
	case reflect.Map:
		return value.JSON
	}
	if t == reflect.TypeOf(time.Time{}) {
		return value.Datetime
	}
	return value.String
}

type lookupRef struct {
	name   string
	offset int
}

// lookupNames lists the names read as lookup.<name> or lookup["name"].
func lookupNames(n ast.Node) []lookupRef {
	v := &lookupVisitor{}
	ast.Walk(&n, v)
	return v.refs
}

type lookupVisitor struct{ refs []lookupRef }

func (v *lookupVisitor) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "lookup" {
		return
	}
	if s, ok := m.Property.(*ast.StringNode); ok {
		v.refs = append(v.refs, lookupRef{s.Value, m.Property.Location().From + 1})
	}
}
