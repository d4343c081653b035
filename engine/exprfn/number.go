package exprfn

import (
	"fmt"
	"math"

	"github.com/crmsync/crmsync/engine/convert"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/shopspring/decimal"
)

func init() {
	register("parse_decimal", convertFn("parse_decimal", value.Decimal), new(func(any) decimal.Decimal))
	register("to_int", convertFn("to_int", value.Integer), new(func(any) any))
	register("to_float", convertFn("to_float", value.Float), new(func(any) any))
	register("to_bool", convertFn("to_bool", value.Boolean), new(func(any) bool))
	register("round", roundFn, new(func(any) any), new(func(any, int) any))
}

// convertFn reads a value the way a field of type t would (so "$1,250.00"
// is a decimal, "yes" a boolean): nil and blank text are nil, text that
// does not read is an error.
func convertFn(name string, t value.Type) func(args ...any) (any, error) {
	c, err := convert.New(convert.Spec{Type: t})
	if err != nil {
		panic(err) // a fixed spec: cannot fail
	}
	return func(args ...any) (any, error) {
		v, err := c.FromValue(args[0])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return v, nil
	}
}

// roundFn: round(x [, places]) rounds half away from zero. A float is
// rounded on its shortest decimal text (2.675 → 2.68, where float maths
// gives 2.67); a decimal stays exact; an integer is returned as is unless
// places is negative (round(1234, -2) is 1200).
func roundFn(args ...any) (any, error) {
	places := 0
	if len(args) == 2 {
		var err error
		if places, err = intArg("round", args[1]); err != nil {
			return nil, err
		}
	}
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return x, nil
		}
		return decimal.NewFromFloat(x).Round(int32(places)).InexactFloat64(), nil
	case decimal.Decimal:
		return x.Round(int32(places)), nil
	case int, int64, int32:
		if places >= 0 {
			return x, nil
		}
		d, _, _ := toDecimal(x)
		r := d.Round(int32(places)).IntPart()
		if _, ok := x.(int64); ok {
			return r, nil
		}
		return int(r), nil
	}
	d, err := decimalConv.FromValue(args[0])
	if err != nil {
		return nil, fmt.Errorf("round: %w", err)
	}
	if d == nil {
		return nil, nil
	}
	return d.(decimal.Decimal).Round(int32(places)), nil
}

var decimalConv, _ = convert.New(convert.Spec{Type: value.Decimal})

// toDecimal reads a number operand of a decimal operator.
func toDecimal(v any) (d decimal.Decimal, isNil bool, err error) {
	switch x := v.(type) {
	case nil:
		return d, true, nil
	case decimal.Decimal:
		return x, false, nil
	case int:
		return decimal.NewFromInt(int64(x)), false, nil
	case int64:
		return decimal.NewFromInt(x), false, nil
	case int32:
		return decimal.NewFromInt(int64(x)), false, nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return d, false, fmt.Errorf("cannot use %v as a decimal", x)
		}
		return decimal.NewFromFloat(x), false, nil
	}
	return d, false, fmt.Errorf("cannot use %T as a decimal", v)
}
