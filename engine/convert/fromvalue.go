package convert

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/value"
	"github.com/shopspring/decimal"
)

// The from* methods below take Go values (expr results, YAML defaults):
// each handles its own type's canonical value directly and otherwise goes
// through the same text path as JSON.

func (c *Converter) fromInt64(n int64) (any, error) {
	switch c.typ {
	case value.Integer:
		return n, nil
	case value.Decimal:
		return decimal.NewFromInt(n), nil
	case value.Float:
		return float64(n), nil
	}
	return c.fromNumber(strconv.FormatInt(n, 10), float64(n))
}

func (c *Converter) fromFloat(f float64) (any, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, errFloatRange
	}
	switch c.typ {
	case value.Float:
		return f, nil
	case value.Decimal:
		// The shortest decimal that reads back as f: 0.1 stays 0.1, not
		// 0.1000000000000000055511151231257827.
		return decimal.NewFromFloat(f), nil
	case value.Integer:
		if f != math.Trunc(f) {
			return nil, errFraction
		}
		if f < -(1<<63) || f >= 1<<63 {
			return nil, errIntRange
		}
		return int64(f), nil
	}
	return c.fromNumber(formatFloat(f), f)
}

// formatFloat writes f the way JavaScript does: plain digits from 1e-6 up
// to 1e21, exponent notation outside.
func formatFloat(f float64) string {
	if a := math.Abs(f); a == 0 || a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func (c *Converter) fromDecimal(d decimal.Decimal) (any, error) {
	switch c.typ {
	case value.Decimal:
		return d, nil
	case value.Integer:
		return decimalToInt(d)
	case value.Float:
		return checkFloat(d.InexactFloat64())
	}
	return c.fromNumber(d.String(), d.InexactFloat64())
}

func (c *Converter) fromTime(t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	switch c.typ {
	case value.Datetime:
		tm, err := inRange(t)
		if err != nil {
			return nil, err
		}
		return tm, nil
	case value.Date:
		return c.date(t), nil
	case value.String:
		return t.UTC().Format(time.RFC3339Nano), nil
	case value.JSON:
		b, err := json.Marshal(t.UTC())
		if err != nil {
			return nil, errTimeRange
		}
		return json.RawMessage(b), nil
	case value.StringArray:
		return []string{t.UTC().Format(time.RFC3339Nano)}, nil
	}
	return nil, c.invalid()
}

func (c *Converter) fromStrings(ss []string) (any, error) {
	switch c.typ {
	case value.StringArray:
		out := make([]string, 0, len(ss))
		for _, s := range ss {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case value.String, value.JSON:
		b, err := json.Marshal(ss)
		if err != nil {
			return nil, errUnsupported
		}
		return c.fromJSONText(string(b))
	}
	return nil, c.invalid()
}
