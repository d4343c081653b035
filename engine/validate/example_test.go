package validate_test

import (
	"fmt"

	"github.com/crmsync/crmsync/engine/validate"
)

// A chain as `validate: [required, state]` compiles to two validators; the
// record path runs them in order and keeps the value each returns.
func Example() {
	var chain []validate.Validator
	for _, link := range []struct {
		name string
		arg  any
	}{{"required", nil}, {"state", nil}} {
		v, err := validate.Build(link.name, link.arg)
		if err != nil {
			fmt.Println(err)
			return
		}
		chain = append(chain, v)
	}
	for _, in := range []any{" new york ", "XX"} {
		v, err := any(in), error(nil)
		for _, c := range chain {
			if v, err = c.Validate(v); err != nil {
				break
			}
		}
		fmt.Printf("%q → %v %v\n", in, v, err)
	}
	_, err := validate.Build("emial", nil)
	fmt.Println(err)
	// Output:
	// " new york " → NY <nil>
	// "XX" → XX Invalid US state: 'XX'
	// unknown validator "emial" (did you mean "email"?)
}
