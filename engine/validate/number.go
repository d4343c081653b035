package validate

import (
	"errors"
	"math"
	"strings"

	"github.com/shopspring/decimal"
)

var (
	errDecimal = errors.New("Invalid decimal number")
	errInteger = errors.New("Invalid integer")
)

func init() {
	Register(Info{
		Name:    "decimal",
		Passes:  "integer, float (not NaN/∞) and decimal values; text `-12.50`, `+7`, `.5`, `1.5e3`, and thousands separators in groups of three (`1,234,567.89`). Currency signs (`$12.50`), `12.50 USD`, European `1.234,56`, `12%`, `N/A` fail",
		Keeps:   "the trimmed text",
		Message: "`Invalid decimal number`",
		Doc:     "a number: an integer, float or decimal value, or text such as -12.50, 1,234.5 or 1.5e3 (no currency signs); kept as written",
		Arg:     "none",
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return funcValidator(validateDecimal), nil
	})
	Register(Info{
		Name:    "integer",
		Passes:  "whole numbers within 64 bits: integer values, whole floats and decimals (`42.0`), text `-42`, `1,234,567`, `42.00` (a fraction of zeros); `42.5`, `1e3`, `99999999999999999999` fail",
		Keeps:   "the trimmed text",
		Message: "`Invalid integer`",
		Doc:     "a whole number within 64 bits: an integer value, a whole float or decimal, or text such as -42, 1,234 or 42.00; kept as written",
		Arg:     "none",
	}, func(arg any) (Validator, error) {
		if err := noArg(arg); err != nil {
			return nil, err
		}
		return funcValidator(validateInteger), nil
	})
}

var decimalCheck = trimmed(func(s string) (string, error) {
	if ok, _ := scanNumber(s); !ok {
		return s, errDecimal
	}
	return s, nil
})

var integerCheck = trimmed(func(s string) (string, error) {
	if _, ok := parseInteger(s); !ok {
		return s, errInteger
	}
	return s, nil
})

func validateDecimal(v any) (any, error) {
	switch x := v.(type) {
	case int64, decimal.Decimal:
		return v, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return v, errDecimal
		}
		return v, nil
	}
	return eachString(v, decimalCheck, errDecimal)
}

func validateInteger(v any) (any, error) {
	switch x := v.(type) {
	case int64:
		return v, nil
	case float64:
		if x != math.Trunc(x) || x < -(1<<63) || x >= 1<<63 {
			return v, errInteger
		}
		return v, nil
	case decimal.Decimal:
		if !x.IsInteger() || !x.BigInt().IsInt64() {
			return v, errInteger
		}
		return v, nil
	}
	return eachString(v, integerCheck, errInteger)
}

// scanNumber checks number text: an optional sign, digits (optionally in
// comma-separated groups of three: 1,234,567), an optional fraction and an
// optional exponent of up to four digits. integral is true when there is neither a non-zero
// fraction nor an exponent. Currency signs, spaces and "N/A" fail.
func scanNumber(s string) (ok, integral bool) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	start, group, commas := i, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			group++
			continue
		}
		if c != ',' {
			break
		}
		// A comma closes a group: the first of 1-3 digits, later ones of 3.
		if group == 0 || group > 3 || commas && group != 3 {
			return false, false
		}
		commas, group = true, 0
	}
	if commas && group != 3 {
		return false, false
	}
	digits := i - start
	integral = true
	if i < len(s) && s[i] == '.' {
		i++
		f := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if s[i] != '0' {
				integral = false
			}
			i++
		}
		if i == f {
			return false, false
		}
		digits += i - f
	}
	if digits == 0 {
		return false, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == e || i-e > 4 { // decimal refuses exponents past 10000
			return false, false
		}
		integral = false
	}
	return i == len(s), integral
}

// parseInteger reads integer text as scanNumber does, with a fraction of
// zeros allowed (42.00) and the value within int64.
func parseInteger(s string) (int64, bool) {
	if ok, integral := scanNumber(s); !ok || !integral {
		return 0, false
	}
	neg := s[0] == '-'
	var n uint64
	digits := 0
	for i := 0; i < len(s) && s[i] != '.'; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		digits++
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case digits == 0: // ".00"
		return 0, false
	case neg && n <= 1<<63:
		return int64(-n), true
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	}
	return 0, false
}

// parseDecimal reads number text into a decimal (allocates; used by min
// and max on text values).
func parseDecimal(s string) (decimal.Decimal, bool) {
	s = trimBlank(s)
	if ok, _ := scanNumber(s); !ok {
		return decimal.Decimal{}, false
	}
	d, err := decimal.NewFromString(strings.ReplaceAll(s, ",", ""))
	return d, err == nil
}
