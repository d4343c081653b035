// Package transform is the record path: for every source record it
// extracts fields (gjson), converts their types, computes expr fields in
// dependency order, runs validator chains, applies the filter and the
// on_invalid policy. Everything that can be decided when the file loads —
// paths, programs, chains, evaluation order — is decided by Compile; the
// per-record work is in processor.go.
package transform

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/convert"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/exprfn"
	"github.com/crmsync/crmsync/engine/validate"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
)

// Policy is what happens to a value that fails conversion or validation.
type Policy uint8

const (
	Warn   Policy = iota // log, keep the value (a failed conversion stores null)
	Null                 // log, store null
	Reject               // the record goes to the rejects store
	Fail                 // the sync stops
)

// ParsePolicy reads an on_invalid value.
func ParsePolicy(s string) (Policy, bool) {
	switch s {
	case "", "warn":
		return Warn, true
	case "null":
		return Null, true
	case "reject":
		return Reject, true
	case "fail":
		return Fail, true
	}
	return Warn, false
}

func (p Policy) String() string { return [...]string{"warn", "null", "reject", "fail"}[p] }

// step is one link of a validator chain.
type step struct {
	name    string
	v       validate.Validator
	prog    *vm.Program // expr validator
	message string
	nilOK   bool
}

// Field is a compiled field.
type Field struct {
	Name  string
	Type  value.Type
	Index int // column index

	path   string
	prog   *vm.Program // expr fields
	conv   *convert.Converter
	def    any
	steps  []step
	policy Policy
	inEnv  bool // some expression reads it
	// fromParent: the path reads the parent record of a substream
	// (written "_parent.<path>").
	fromParent bool
	slot       int // index into the extractor's results
}

// Options are what Compile needs besides the fields.
type Options struct {
	Pipeline string
	Entity   string
	Path     string // JSON pointer of the entity or child ("/entities/contacts")
	Fields   config.Fields
	Filter   string
	// PrimaryKey names the fields that identify a record in log lines.
	PrimaryKey []string
	OnInvalid  Policy
	Strict     bool // <PIPELINE>_STRICT_VALIDATION: warn becomes reject
	Timezone   *time.Location
	Region     string
	// Extra names more variables the expressions may read (a child's parent).
	Extra map[string]any
}

// Program is a compiled record path for one entity (or child table).
type Program struct {
	pipeline, entity string
	fields           []*Field
	order            []*Field // evaluation order: path fields, then expr fields by dependency
	filter           *vm.Program
	idIdx            []int
	usesRaw, usesCtx bool
	envSample        map[string]any
	fieldNames       []string
	extract          *extractor // paths of the record
	parentExtract    *extractor // _parent. paths
}

// Fields returns the compiled fields in column order.
func (p *Program) Fields() []*Field { return p.fields }

// Compile builds a Program and reports every problem it finds.
func Compile(o Options) (*Program, []diag.Problem) {
	c := &compiler{o: o, p: &Program{pipeline: o.Pipeline, entity: o.Entity}}
	c.compile()
	if hasError(c.problems) {
		return nil, c.problems
	}
	return c.p, c.problems
}

func hasError(ps []diag.Problem) bool {
	for _, p := range ps {
		if !p.Warning {
			return true
		}
	}
	return false
}

type compiler struct {
	o        Options
	p        *Program
	problems []diag.Problem
	byName   map[string]*Field
	cfg      map[string]*config.Field
	refs     map[string][]string // expr field → field names it reads
}

func (c *compiler) add(path, code, format string, args ...any) {
	c.problems = append(c.problems, diag.Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (c *compiler) fieldPath(name string) string {
	return c.o.Path + "/fields/" + config.Escape(name)
}

func (c *compiler) compile() {
	c.byName = map[string]*Field{}
	c.cfg = map[string]*config.Field{}
	c.refs = map[string][]string{}
	for i, cf := range c.o.Fields {
		f := &Field{Name: cf.Name, Index: i}
		c.p.fields = append(c.p.fields, f)
		c.p.fieldNames = append(c.p.fieldNames, cf.Name)
		c.byName[cf.Name] = f
		c.cfg[cf.Name] = cf
	}
	for _, name := range []string{"raw", "ctx"} {
		if _, clash := c.byName[name]; clash {
			c.add(c.fieldPath(name), "reserved-name", "field name %q is reserved for expressions (it names the %s)", name,
				map[string]string{"raw": "source record", "ctx": "sync context"}[name])
		}
	}
	// Pass 1: settings that need no other field.
	for _, f := range c.p.fields {
		c.compileStatic(f, c.cfg[f.Name])
	}
	// Pass 2: expression fields need the names and types of the others;
	// find what each reads, order them, then compile in that order.
	order, ok := c.exprOrder()
	if !ok {
		return
	}
	for _, f := range c.p.fields {
		if c.cfg[f.Name].Expr == "" {
			c.p.order = append(c.p.order, f)
		}
	}
	for _, f := range order {
		c.compileExpr(f, c.cfg[f.Name])
		c.p.order = append(c.p.order, f)
	}
	for _, f := range c.p.fields {
		c.compileChain(f, c.cfg[f.Name])
	}
	if c.o.Filter != "" {
		prog := c.expr(c.o.Path+"/filter", c.o.Filter, expr.AsBool())
		c.p.filter = prog
	}
	c.p.extract, c.p.parentExtract = newExtractor(), newExtractor()
	for _, f := range c.p.order {
		if f.prog != nil || f.path == "" {
			continue
		}
		if f.fromParent {
			f.slot = c.p.parentExtract.add(f.path)
		} else {
			f.slot = c.p.extract.add(f.path)
		}
	}
	for _, k := range c.o.PrimaryKey {
		if f, ok := c.byName[k]; ok {
			c.p.idIdx = append(c.p.idIdx, f.Index)
		}
	}
	c.p.envSample = c.env()
}

func (c *compiler) compileStatic(f *Field, cf *config.Field) {
	path := c.fieldPath(f.Name)
	if cf.Path != "" && cf.Expr != "" {
		c.add(path, "conflicting-settings", "field %q sets both path and expr: a field is read from the record or computed, not both", f.Name)
	}
	if cf.Path == "" && cf.Expr == "" {
		cf.Path = f.Name // a field without a path reads the key of its own name
	}
	if cf.Path != "" {
		if msg := checkPath(cf.Path); msg != "" {
			c.add(path+pathSuffix(cf), "bad-gjson", "field %q: invalid path %q: %s", f.Name, cf.Path, msg)
		}
		f.path = cf.Path
		if rest, ok := strings.CutPrefix(cf.Path, "_parent."); ok {
			f.path, f.fromParent = rest, true
		}
	}
	t, ok := value.Parse(cf.Type)
	if !ok {
		c.add(path+"/type", "unknown-type", "field %q: unknown type %q (types: %s)", f.Name, cf.Type, strings.Join(value.Names(), ", "))
	}
	f.Type = t
	f.policy = c.o.OnInvalid
	if cf.OnInvalid != "" {
		f.policy, _ = ParsePolicy(cf.OnInvalid)
	}
	if c.o.Strict && f.policy == Warn {
		f.policy = Reject
	}
	if cf.Expr == "" || cf.Type != "" {
		c.converter(f, cf)
	}
}

// pathSuffix points a finding at the path setting; a shorthand field (a
// bare string) has no /path node, and PosOf then finds the field itself.
func pathSuffix(*config.Field) string { return "/path" }

func (c *compiler) converter(f *Field, cf *config.Field) {
	path := c.fieldPath(f.Name)
	loc := c.o.Timezone
	if cf.Timezone != "" {
		l, err := time.LoadLocation(cf.Timezone)
		if err != nil {
			c.add(path+"/timezone", "bad-timezone", "field %q: unknown time zone %q (use an IANA name such as America/New_York)", f.Name, cf.Timezone)
		} else {
			loc = l
		}
	}
	region := c.o.Region
	if cf.DefaultRegion != "" {
		region = cf.DefaultRegion
	}
	conv, err := convert.New(convert.Spec{Type: f.Type, Layouts: cf.Format, Location: loc, Region: region})
	if err != nil {
		c.add(path, "invalid-value", "field %q: %v", f.Name, err)
		return
	}
	f.conv = conv
	if cf.Default != nil {
		d, err := conv.FromValue(cf.Default)
		if err != nil {
			c.add(path+"/default", "invalid-default", "field %q: default %q: %v", f.Name, fmt.Sprint(cf.Default), err)
		}
		f.def = d
	}
}

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
// not the callee of a call (those name functions).
func identifiers(n ast.Node) []string {
	v := &identVisitor{callees: map[*ast.IdentifierNode]bool{}}
	ast.Walk(&n, v)
	var names []string
	for _, id := range v.ids {
		if !v.callees[id] {
			names = append(names, id.Value)
		}
	}
	sort.Strings(names)
	return names
}

type identVisitor struct {
	ids     []*ast.IdentifierNode
	callees map[*ast.IdentifierNode]bool
}

func (v *identVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok {
			v.callees[id] = true
		}
	case *ast.IdentifierNode:
		v.ids = append(v.ids, x)
	}
}

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
	for _, n := range identifiers(prog.Node()) {
		switch n {
		case "raw":
			c.p.usesRaw = true
		case "ctx":
			c.p.usesCtx = true
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

func (c *compiler) compileChain(f *Field, cf *config.Field) {
	base := c.fieldPath(f.Name) + "/validate/"
	if cf.Required {
		v, err := validate.Build("required", nil)
		if err == nil {
			f.steps = append(f.steps, step{name: "required", v: v, nilOK: true})
		}
	}
	for i, vc := range cf.Validate {
		path := fmt.Sprintf("%s%d", base, i)
		if vc.Name == "expr" {
			src, _ := vc.Arg.(string)
			if src == "" {
				c.add(path, "validator-arg", "field %q: the expr validator needs an expression, as {expr: 'value > 0', message: '…'}", f.Name)
				continue
			}
			prog := c.exprValidator(path+"/expr", src, f)
			msg := vc.Message
			if msg == "" {
				msg = "failed check: " + src
			}
			f.steps = append(f.steps, step{name: "expr", prog: prog, message: msg})
			continue
		}
		v, err := validate.Build(vc.Name, vc.Arg)
		if err != nil {
			code := "validator-arg"
			var unk *validate.UnknownError
			if asUnknown(err, &unk) {
				code = "unknown-validator"
			}
			c.add(path, code, "field %q: %v", f.Name, err)
			continue
		}
		f.steps = append(f.steps, step{name: vc.Name, v: v, message: vc.Message, nilOK: validate.AcceptsNil(vc.Name)})
	}
}

func (c *compiler) exprValidator(path, src string, f *Field) *vm.Program {
	env := c.env()
	env["value"] = sample(f.Type)
	f.inEnv = true
	return c.compileWith(path, src, env, expr.AsBool())
}
