package validate

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

func init() {
	for _, b := range []struct {
		name, doc              string
		min                    bool
		passes, keeps, message string
	}{
		{"min", "a number at least the argument (integers, floats and decimals compared exactly), or a time on or after it", true, "numbers ≥ the argument (integers, floats and decimals compared exactly, number text parsed); times on or after it", "the value", "`must be at least 3`, `must be on or after 2024-01-01`, `must be a number`"},
		{"max", "a number at most the argument, or a time on or before it (a date argument includes its whole day)", false, "numbers ≤ the argument; times on or before it (a date covers its whole day: `max: 2024-12-31` accepts `2024-12-31 23:59:59`)", "the value", "`must be at most 100`, `must be on or before 2024-12-31`"},
	} {
		isMin := b.min
		Register(Info{Name: b.name, Doc: b.doc, Passes: b.passes, Keeps: b.keeps, Message: b.message, Arg: "a number, or a date (2006-01-02) or RFC 3339 time"},
			func(arg any) (Validator, error) { return newBound(arg, isMin) })
	}
}

var (
	errNotNumber = errors.New("must be a number")
	errNotTime   = errors.New("must be a date or time")
)

// bound is min or max. Everything a comparison needs is prepared here so
// that checking an int64, float64 or decimal value does not allocate.
type bound struct {
	min    bool
	isTime bool
	err    error

	t      time.Time
	before bool // max with a date argument: v must be before the next day

	d         decimal.Decimal
	i         int64 // ceil(d) for min, floor(d) for max
	iAll, iNo bool  // every int64 passes / none does (d out of int64 range)
	f         float64
	fCmp      int // sign of (shortest decimal of f) − d
}

var _ Validator = (*bound)(nil)

func newBound(arg any, isMin bool) (Validator, error) {
	b := &bound{min: isMin}
	var label string
	switch a := arg.(type) {
	case int:
		b.d, label = decimal.NewFromInt(int64(a)), strconv.Itoa(a)
	case int64:
		b.d, label = decimal.NewFromInt(a), strconv.FormatInt(a, 10)
	case uint64:
		b.d, label = decimal.NewFromBigInt(new(big.Int).SetUint64(a), 0), strconv.FormatUint(a, 10)
	case float64:
		if math.IsNaN(a) || math.IsInf(a, 0) {
			return nil, fmt.Errorf("argument must be a finite number, got %v", a)
		}
		b.d = decimal.NewFromFloat(a)
		label = b.d.String()
	case time.Time:
		b.isTime, b.t, label = true, a, a.Format(time.RFC3339)
		if a.Equal(a.Truncate(24 * time.Hour)) {
			label = a.Format(time.DateOnly)
		}
	case string:
		if d, ok := parseDecimal(a); ok {
			b.d, label = d, trimBlank(a)
		} else if t, ok := parseTime(trimBlank(a)); ok {
			b.isTime, b.t, label = true, t, trimBlank(a)
		} else {
			return nil, fmt.Errorf("argument must be a number, a date (2006-01-02) or an RFC 3339 time, got %s", show(arg))
		}
	default:
		return nil, fmt.Errorf("argument must be a number, a date (2006-01-02) or an RFC 3339 time, got %s", show(arg))
	}
	switch {
	case b.isTime && isMin:
		b.err = fmt.Errorf("must be on or after %s", label)
	case b.isTime:
		b.err = fmt.Errorf("must be on or before %s", label)
		if len(label) == len(time.DateOnly) {
			b.t, b.before = b.t.AddDate(0, 0, 1), true
		}
	case isMin:
		b.err = fmt.Errorf("must be at least %s", label)
	default:
		b.err = fmt.Errorf("must be at most %s", label)
	}
	if !b.isTime {
		b.prepareNumbers()
	}
	return b, nil
}

var (
	decMinInt64 = decimal.NewFromInt(math.MinInt64)
	decMaxInt64 = decimal.NewFromInt(math.MaxInt64)
)

func (b *bound) prepareNumbers() {
	edge := b.d.Floor()
	if b.min {
		edge = b.d.Ceil()
	}
	switch {
	case edge.LessThan(decMinInt64):
		b.iAll, b.iNo = b.min, !b.min
	case edge.GreaterThan(decMaxInt64):
		b.iAll, b.iNo = !b.min, b.min
	default:
		b.i = edge.IntPart()
	}
	b.f, _ = b.d.Float64()
	switch {
	case math.IsInf(b.f, 1):
		b.fCmp = 1
	case math.IsInf(b.f, -1):
		b.fCmp = -1
	default:
		b.fCmp = decimal.NewFromFloat(b.f).Cmp(b.d)
	}
}

func (b *bound) Validate(v any) (any, error) {
	if b.isTime {
		return b.checkTime(v)
	}
	var c int // sign of v − d
	switch x := v.(type) {
	case int64:
		if b.iAll || !b.iNo && (b.min && x >= b.i || !b.min && x <= b.i) {
			return v, nil
		}
		return v, b.err
	case float64:
		switch {
		case math.IsNaN(x):
			return v, errNotNumber
		case x < b.f:
			c = -1
		case x > b.f:
			c = 1
		default:
			// The nearest float to d: compare the decimal it displays as.
			c = b.fCmp
		}
	case decimal.Decimal:
		c = x.Cmp(b.d)
	case string:
		if x == "" {
			return v, nil
		}
		d, ok := parseDecimal(x)
		if !ok {
			return v, errNotNumber
		}
		c = d.Cmp(b.d)
	default:
		return v, errNotNumber
	}
	if b.min && c < 0 || !b.min && c > 0 {
		return v, b.err
	}
	return v, nil
}

func (b *bound) checkTime(v any) (any, error) {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		s := trimBlank(x)
		if s == "" {
			return v, nil
		}
		var ok bool
		if t, ok = parseTime(s); !ok {
			return v, errNotTime
		}
	default:
		return v, errNotTime
	}
	switch {
	case b.min && t.Before(b.t), !b.min && b.before && !t.Before(b.t), !b.min && !b.before && t.After(b.t):
		return v, b.err
	}
	return v, nil
}
