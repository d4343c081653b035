package postgres

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/shopspring/decimal"
)

// encodeNumeric writes a decimal exactly: base-10000 digits, the weight
// of the first one, the sign and the display scale (so 1.50 stays 1.50).
func encodeNumeric(buf []byte, v any) ([]byte, error) {
	var d decimal.Decimal
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case decimal.Decimal:
		d = x
	case int64:
		d = decimal.NewFromInt(x)
	default:
		return buf, wrongType(v, "decimal.Decimal")
	}
	var scratch [24]byte
	var digits []byte // decimal digits of |coefficient|
	neg := d.Sign() < 0
	if d.NumDigits() <= 18 {
		c := d.CoefficientInt64()
		if c < 0 {
			c = -c
		}
		digits = strconv.AppendInt(scratch[:0], c, 10)
	} else {
		c := d.Coefficient()
		digits = c.Abs(c).Append(scratch[:0], 10)
	}
	exp := int(d.Exponent())
	dscale := 0
	if exp < 0 {
		dscale = -exp
	}
	if dscale > 0x3FFF {
		return buf, fmt.Errorf("decimal %s has more than %d digits after the point", d.String(), 0x3FFF)
	}
	// The value is digits × 10^exp. Pad to whole groups of four around
	// the decimal point: intLen digits before it, dscale after it.
	zerosRight := max(exp, 0)
	intLen := len(digits) + zerosRight - dscale
	lead := 0
	if intLen < 0 {
		lead, intLen = -intLen, 0
	}
	padL := (4 - intLen%4) % 4
	padR := (4 - dscale%4) % 4
	total := padL + lead + len(digits) + zerosRight + padR // a multiple of 4
	digit := func(k int) uint16 {
		k -= padL + lead
		if k >= 0 && k < len(digits) {
			return uint16(digits[k] - '0')
		}
		return 0
	}
	groups := total / 4
	weight := (padL+intLen)/4 - 1
	first, last := 0, groups // trim zero groups at both ends
	group := func(g int) uint16 {
		k := g * 4
		return digit(k)*1000 + digit(k+1)*100 + digit(k+2)*10 + digit(k+3)
	}
	for first < last && group(first) == 0 {
		first++
	}
	for last > first && group(last-1) == 0 {
		last--
	}
	n := last - first
	if n == 0 {
		weight, neg = 0, false
	} else {
		weight -= first
	}
	if n > math.MaxInt16 || weight > math.MaxInt16 || weight < math.MinInt16 {
		return buf, fmt.Errorf("decimal %s is out of PostgreSQL's numeric range", d.String())
	}
	sign := uint16(0)
	if neg {
		sign = 0x4000
	}
	buf = appendLen(buf, 8+2*n)
	buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(dscale))
	for g := first; g < last; g++ {
		buf = binary.BigEndian.AppendUint16(buf, group(g))
	}
	return buf, nil
}
