package transform

import (
	"fmt"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/validate"
	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

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
