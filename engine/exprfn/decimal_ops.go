package exprfn

import (
	"errors"
	"reflect"

	"github.com/shopspring/decimal"
)

// Decimal fields carry decimal.Decimal, which expr's operators do not know.
// These overloads make + - * / and comparisons work between decimals and
// between a decimal and an int or float, exactly. expr picks an overload
// from the operand types known when compiling, so they apply when the
// environment declares the field as decimal.Decimal (a zero Decimal in
// the env map). A nil operand gives nil (arithmetic) or false (ordering);
// == and != treat nil as a value.

type decimalOperator struct{ operator, function string }

var decimalOperators = []decimalOperator{
	{"+", "decimal_add"}, {"-", "decimal_sub"}, {"*", "decimal_mul"}, {"/", "decimal_div"},
	{"==", "decimal_eq"}, {"!=", "decimal_ne"},
	{"<", "decimal_lt"}, {"<=", "decimal_le"}, {">", "decimal_gt"}, {">=", "decimal_ge"},
}

var errDivByZero = errors.New("decimal division by zero")

func init() {
	decType := reflect.TypeOf(decimal.Decimal{})
	boolType := reflect.TypeOf(true)
	arith := map[string]func(a, b decimal.Decimal) (any, error){
		"decimal_add": func(a, b decimal.Decimal) (any, error) { return a.Add(b), nil },
		"decimal_sub": func(a, b decimal.Decimal) (any, error) { return a.Sub(b), nil },
		"decimal_mul": func(a, b decimal.Decimal) (any, error) { return a.Mul(b), nil },
		"decimal_div": func(a, b decimal.Decimal) (any, error) {
			if b.IsZero() {
				return nil, errDivByZero
			}
			return a.Div(b), nil
		},
	}
	compare := map[string]func(cmp int) bool{
		"decimal_lt": func(c int) bool { return c < 0 },
		"decimal_le": func(c int) bool { return c <= 0 },
		"decimal_gt": func(c int) bool { return c > 0 },
		"decimal_ge": func(c int) bool { return c >= 0 },
	}
	for _, op := range decimalOperators {
		out := boolType
		var impl func(args ...any) (any, error)
		switch f := op.function; {
		case arith[f] != nil:
			out, impl = decType, arithmetic(f, arith[f])
		case compare[f] != nil:
			impl = ordering(compare[f])
		default:
			impl = equality(f == "decimal_ne")
		}
		registry = append(registry, function{name: op.function, impl: impl, sigs: operandPairs(decType, out), hidden: true})
	}
}

// operandPairs lists (decimal, decimal) and decimal with each other
// number type on either side.
func operandPairs(dec, out reflect.Type) []any {
	others := []reflect.Type{reflect.TypeOf(0), reflect.TypeOf(int64(0)), reflect.TypeOf(0.0)}
	pairs := [][2]reflect.Type{{dec, dec}}
	for _, o := range others {
		pairs = append(pairs, [2]reflect.Type{dec, o}, [2]reflect.Type{o, dec})
	}
	sigs := make([]any, len(pairs))
	for i, p := range pairs {
		ft := reflect.FuncOf([]reflect.Type{p[0], p[1]}, []reflect.Type{out}, false)
		sigs[i] = reflect.New(ft).Interface()
	}
	return sigs
}

func arithmetic(name string, f func(a, b decimal.Decimal) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		a, aNil, err := toDecimal(args[0])
		if err != nil {
			return nil, errors.New(name + ": " + err.Error())
		}
		b, bNil, err := toDecimal(args[1])
		if err != nil {
			return nil, errors.New(name + ": " + err.Error())
		}
		if aNil || bNil {
			return nil, nil
		}
		return f(a, b)
	}
}

func ordering(ok func(cmp int) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		a, aNil, err := toDecimal(args[0])
		if err != nil {
			return nil, err
		}
		b, bNil, err := toDecimal(args[1])
		if err != nil {
			return nil, err
		}
		if aNil || bNil {
			return false, nil
		}
		return ok(a.Cmp(b)), nil
	}
}

func equality(negate bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		a, aNil, err := toDecimal(args[0])
		if err != nil {
			return nil, err
		}
		b, bNil, err := toDecimal(args[1])
		if err != nil {
			return nil, err
		}
		eq := aNil && bNil || !aNil && !bNil && a.Equal(b)
		return eq != negate, nil
	}
}
