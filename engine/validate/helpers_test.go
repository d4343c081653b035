package validate

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func mustBuild(tb testing.TB, name string, arg any) Validator {
	tb.Helper()
	v, err := Build(name, arg)
	if err != nil {
		tb.Fatalf("Build(%q, %v): %v", name, arg, err)
	}
	return v
}

// equal compares kept values, decimals and times by value.
func equal(a, b any) bool {
	switch x := a.(type) {
	case decimal.Decimal:
		y, ok := b.(decimal.Decimal)
		return ok && x.Equal(y)
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case json.RawMessage:
		y, ok := b.(json.RawMessage)
		return ok && string(x) == string(y)
	}
	return reflect.DeepEqual(a, b)
}

// vcase is one row of a validator table: the value, and either the value
// kept (pass) or the exact error message (fail).
type vcase struct {
	in      any
	want    any
	wantErr string
}

func runCases(t *testing.T, name string, arg any, cases []vcase) {
	t.Helper()
	v := mustBuild(t, name, arg)
	for _, c := range cases {
		got, err := v.Validate(c.in)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("%s(%v).Validate(%#v) = %#v, %v; want error %q", name, arg, c.in, got, err, c.wantErr)
			}
			continue
		}
		if err != nil || !equal(got, c.want) {
			t.Errorf("%s(%v).Validate(%#v) = %#v, %v; want %#v", name, arg, c.in, got, err, c.want)
		}
	}
}

// same is shorthand for a case that passes unchanged.
func same(in any) vcase { return vcase{in: in, want: in} }

func fails(in any, msg string) vcase { return vcase{in: in, wantErr: msg} }
