package transform

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/expr-lang/expr/vm"
	"github.com/tidwall/gjson"
)

// Child is a compiled child table: rows made from a nested array of each
// parent record. Its expressions see the parent's fields as parent.<name>.
type Child struct {
	Name    string
	Program *Program
	path    string      // gjson path of the array in the parent record
	from    *vm.Program // or an expression over the parent's fields
}

// CompileChild compiles a child of the parent program p.
func (p *Program) CompileChild(o Options, c *config.Child) (*Child, []diag.Problem) {
	parentSample := map[string]any{}
	for _, f := range p.fields {
		parentSample[f.Name] = sample(f.Type)
	}
	o.Extra = map[string]any{"parent": parentSample}
	o.Fields, o.Filter = c.Fields, c.Filter
	ch := &Child{Name: c.Name}
	var problems []diag.Problem
	if src, ok := strings.CutPrefix(strings.TrimSpace(c.From), "="); ok {
		ch.from, problems = p.compileFrom(o.Path+"/from", strings.TrimSpace(src))
	} else if msg := checkPath(c.From); msg != "" {
		problems = append(problems, diag.Problem{Path: o.Path + "/from", Code: "bad-gjson", Message: fmt.Sprintf("child %q: invalid path %q: %s", c.Name, c.From, msg)})
	} else {
		ch.path = c.From
	}
	prog, more := Compile(o)
	problems = append(problems, more...)
	ch.Program = prog
	if hasError(problems) {
		return nil, problems
	}
	return ch, problems
}

// compileFrom compiles a child's "= expression" against the parent's
// variables.
func (p *Program) compileFrom(path, src string) (*vm.Program, []diag.Problem) {
	c := &compiler{o: Options{Path: path}, p: p, byName: map[string]*Field{}}
	for _, f := range p.fields {
		c.byName[f.Name] = f
	}
	env := make(map[string]any, len(p.envSample))
	for k, v := range p.envSample {
		env[k] = v
	}
	return c.compileWith(path, src, env), c.problems
}

// Elements returns the child records of the record the processor has just
// processed: each element of the child's array, as JSON.
func (pr *Processor) Elements(ch *Child, rec source.Record, dst []source.Record) ([]source.Record, error) {
	dst = dst[:0]
	if ch.from == nil {
		r := gjson.Get(rec.JSON, ch.path)
		if r.Type == gjson.String && (strings.HasPrefix(strings.TrimSpace(r.Str), "[")) {
			r = gjson.Parse(r.Str) // an array kept as JSON text (SalesPro's lead_results)
		}
		if !r.IsArray() {
			return dst, nil
		}
		for _, el := range r.Array() {
			dst = append(dst, source.Record{JSON: el.Raw, File: rec.File, Row: rec.Row})
		}
		return dst, nil
	}
	out, err := pr.vm.Run(ch.from, pr.env)
	if err != nil {
		return dst, fmt.Errorf("child %q: %s", ch.Name, firstLine(err.Error()))
	}
	list, ok := out.([]any)
	if !ok {
		if out == nil {
			return dst, nil
		}
		return dst, fmt.Errorf("child %q: the from expression gave %T, not a list", ch.Name, out)
	}
	for _, el := range list {
		b, err := json.Marshal(el)
		if err != nil {
			return dst, fmt.Errorf("child %q: %v", ch.Name, err)
		}
		dst = append(dst, source.Record{JSON: string(b), File: rec.File, Row: rec.Row})
	}
	return dst, nil
}

// ParentVars gives a child processor its parent's values.
func (pr *Processor) ParentVars(fields []*Field, values []any) map[string]any {
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		m[f.Name] = envValue(f.Type, values[f.Index])
	}
	return m
}
