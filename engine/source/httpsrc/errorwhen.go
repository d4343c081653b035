package httpsrc

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/jsonpick"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
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
	// body is what the rules read of body: the member paths (body.a.b,
	// body?.a, body["a"]), looked up in the bytes, or the whole body
	// when some rule uses it otherwise (body itself, body[x] with x not
	// a constant string, $env).
	body    *jsonpick.Set
	headers bool // some rule reads headers (or $env): build the map
}

type errorRule struct {
	src   string
	prog  *vm.Program
	retry bool // a match is retried like a 5xx (the default)
}

func compileErrorWhen(w ErrorWhen, at string, p *problems) *errorWhen {
	out := &errorWhen{body: jsonpick.New("body")}
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
		out.body.Add(tree.Node)
		out.headers = out.headers || readsHeaders(tree.Node)
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
	if env.Body, err = w.body.Value(body); err != nil {
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

// readsHeaders: the tree reads headers, or $env (the whole environment).
func readsHeaders(root ast.Node) bool {
	v := &headerVisitor{}
	ast.Walk(&root, v)
	return v.found
}

type headerVisitor struct{ found bool }

func (v *headerVisitor) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && (id.Value == "headers" || id.Value == "$env") {
		v.found = true
	}
}
