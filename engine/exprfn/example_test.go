package exprfn_test

import (
	"fmt"

	"github.com/crmsync/crmsync/engine/exprfn"
	"github.com/expr-lang/expr"
)

func ExampleOptions() {
	env := map[string]any{
		"first_name":   "  mary-JANE ",
		"last_name":    "o'NEIL",
		"lead_results": `[{"title":"Appointment Result ","value":"Sold"}]`,
	}
	for _, src := range []string{
		`title_case(trim(first_name)) + " " + title_case(last_name)`,
		`kv_get(lead_results, "title", "value", "Appointment Result", "Result")`,
	} {
		prog, err := expr.Compile(src, append(exprfn.Options(), expr.Env(env))...)
		if err != nil {
			fmt.Println(err)
			continue
		}
		out, err := expr.Run(prog, env)
		fmt.Println(out, err)
	}
	// Output:
	// Mary-Jane O'Neil <nil>
	// Sold <nil>
}
