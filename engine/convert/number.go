package convert

import (
	"math"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// isNullToken reports the words people type for "no value".
func isNullToken(s string) bool {
	switch len(s) {
	case 1:
		return s == "-"
	case 2:
		return strings.EqualFold(s, "na")
	case 3:
		return strings.EqualFold(s, "n/a")
	case 4:
		return strings.EqualFold(s, "null") || strings.EqualFold(s, "none")
	}
	return false
}

// parseInteger reads a whole number: "42", "+7", "1,234", "12.0", "1e3".
// A fraction is an error rather than being cut off.
func parseInteger(s string) (any, error) {
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, errIntRange
		}
		return n, nil
	}
	c, ok := cleanNumber(s)
	if !ok {
		return nil, errInteger
	}
	if isDigits(c) {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			return nil, errIntRange
		}
		return n, nil
	}
	d, err := decimal.NewFromString(c)
	if err != nil {
		return nil, errInteger
	}
	return decimalToInt(d)
}

func decimalToInt(d decimal.Decimal) (any, error) {
	if d.IsZero() {
		return int64(0), nil
	}
	if !d.IsInteger() {
		return nil, errFraction
	}
	if d.Exponent() > 18 { // a non-zero value of at least 1e19
		return nil, errIntRange
	}
	b := d.BigInt()
	if !b.IsInt64() {
		return nil, errIntRange
	}
	return b.Int64(), nil
}

// parseDecimal reads an exact decimal: "12.50", "$1,250.00", "(12.50)",
// "1.5e3".
func parseDecimal(s string) (any, error) {
	c, ok := cleanNumber(s)
	if !ok {
		return nil, errDecimal
	}
	d, err := decimal.NewFromString(c)
	if err != nil {
		return nil, errDecimal
	}
	return d, nil
}

func parseFloat(s string) (any, error) {
	c, ok := cleanNumber(s)
	if !ok {
		return nil, errFloat
	}
	f, err := strconv.ParseFloat(c, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return nil, errFloatRange
		}
		return nil, errFloat
	}
	return f, nil
}

func checkFloat(f float64) (any, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errFloatRange
	}
	return f, nil
}

// parseBool reads true/false, yes/no, y/n, 1/0, on/off and t/f in any case.
func parseBool(s string) (any, error) {
	switch len(s) {
	case 1:
		switch s[0] {
		case 't', 'T', 'y', 'Y', '1':
			return true, nil
		case 'f', 'F', 'n', 'N', '0':
			return false, nil
		}
	case 2:
		if strings.EqualFold(s, "on") {
			return true, nil
		}
		if strings.EqualFold(s, "no") {
			return false, nil
		}
	case 3:
		if strings.EqualFold(s, "yes") {
			return true, nil
		}
		if strings.EqualFold(s, "off") {
			return false, nil
		}
	case 4:
		if strings.EqualFold(s, "true") {
			return true, nil
		}
	case 5:
		if strings.EqualFold(s, "false") {
			return false, nil
		}
	}
	return nil, errBoolean
}

// isDigits reports an optional sign followed by one or more ASCII digits.
func isDigits(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return allDigits(s)
}

// allDigits reports one or more ASCII digits and nothing else.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// plainNumber reports text made only of what strconv and decimal read, so
// it needs no clean-up.
func plainNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == '-', c == '+', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

// cleanNumber strips what people type around a number: spaces, one sign,
// a currency sign ($ € £) before or after, thousands separators (',' in
// groups of three only, so the European "1,5" is refused rather than read
// as 15) and accounting parentheses for a negative amount: "(1,250.00)"
// is -1250.00. It allocates only when there is something to strip.
func cleanNumber(s string) (string, bool) {
	if plainNumber(s) {
		return s, s != ""
	}
	neg, signs := false, 0
	if len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' {
		neg, signs = true, 1
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	s, neg, signs = takeSign(s, neg, signs)
	s = strings.TrimSpace(trimCurrencyPrefix(s))
	s, neg, signs = takeSign(s, neg, signs)
	s = strings.TrimSpace(trimCurrencySuffix(s))
	if signs > 1 || s == "" {
		return "", false
	}
	// The integer part: digits, with commas only between groups of three.
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == ',') {
		end++
	}
	intPart, rest := s[:end], s[end:]
	if !plainNumber(rest) {
		return "", false
	}
	if strings.IndexByte(intPart, ',') >= 0 && !validGroups(intPart) {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(s) + 1)
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(intPart); i++ {
		if intPart[i] != ',' {
			b.WriteByte(intPart[i])
		}
	}
	b.WriteString(rest)
	return b.String(), true
}

// validGroups checks "1,234,567": a first group of one to three digits,
// then groups of exactly three.
func validGroups(s string) bool {
	first := strings.IndexByte(s, ',')
	if first < 1 || first > 3 {
		return false
	}
	for s = s[first:]; s != ""; s = s[4:] {
		if len(s) < 4 || s[0] != ',' || !allDigits(s[1:4]) {
			return false
		}
	}
	return true
}

func takeSign(s string, neg bool, signs int) (string, bool, int) {
	if s == "" {
		return s, neg, signs
	}
	switch s[0] {
	case '-':
		return strings.TrimSpace(s[1:]), !neg, signs + 1
	case '+':
		return strings.TrimSpace(s[1:]), neg, signs + 1
	}
	return s, neg, signs
}

func trimCurrencyPrefix(s string) string {
	for _, sym := range currencySigns {
		if strings.HasPrefix(s, sym) {
			return s[len(sym):]
		}
	}
	return s
}

func trimCurrencySuffix(s string) string {
	for _, sym := range currencySigns {
		if strings.HasSuffix(s, sym) {
			return s[:len(s)-len(sym)]
		}
	}
	return s
}

var currencySigns = [...]string{"$", "€", "£"}
