package httpsrc

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/expr-lang/expr"
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

// errorWhen is a compiled error_when expression: true means the body
// reports a failure even though the status says success.
type errorWhen struct {
	src  string
	prog *vm.Program
}

func compileErrorWhen(src, at string, p *problems) *errorWhen {
	if _, err := parser.Parse(src); err != nil {
		p.errf(at, "expr-syntax", "error_when %q: %v", src, oneLine(err))
		return nil
	}
	prog, err := expr.Compile(src, expr.Env(errorEnv{}), expr.AsBool())
	if err != nil {
		p.errf(at, "expr-type", "error_when %q: %v (it sees body, status and headers, and must give true or false)", src, oneLine(err))
		return nil
	}
	return &errorWhen{src: src, prog: prog}
}

// failed evaluates the expression on one response.
func (w *errorWhen) failed(status int, h http.Header, body string) (bool, error) {
	env := errorEnv{Status: status, Headers: make(map[string]string, len(h))}
	if err := json.Unmarshal([]byte(body), &env.Body); err != nil {
		return false, fmt.Errorf("decoding the body for error_when: %w", err)
	}
	for k, v := range h {
		env.Headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	out, err := expr.Run(w.prog, &env)
	if err != nil {
		if _, isObject := env.Body.(map[string]any); !isObject {
			// body.status on a bare array: the body has no error field.
			return false, nil
		}
		return false, fmt.Errorf("error_when %q: %s", w.src, oneLine(err))
	}
	return out.(bool), nil
}

// oneLine keeps the first line of an expr error (the rest draws a caret).
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
