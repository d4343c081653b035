// Package convert turns a raw source value into the canonical Go value of a
// field type (see engine/value): string, int64, decimal.Decimal, float64,
// bool, time.Time, json.RawMessage or []string, or nil for SQL NULL.
//
// A Converter is built once per field when the pipeline compiles and then
// called for every record, so the per-call path uses no regexp, no fmt and
// no reflection; errors are package-level values that never echo the input
// (the caller logs the value next to the field name).
//
// Empty and whitespace-only strings, and the null tokens N/A, NA, null,
// None and "-" (case-insensitive), are nil for every type except string; a
// string field keeps its text exactly as it came, spaces included. MySQL's
// zero date "0000-00-00" (with or without a time) is nil for date and
// datetime fields.
package convert

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/value"
	"github.com/nyaruka/phonenumbers"
	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"
)

// Spec says how one field converts.
type Spec struct {
	Type value.Type
	// Layouts are Go time layouts for date and datetime fields (a CSV
	// export's "01/02/2006 3:04 PM"), tried in order before the built-in
	// formats.
	Layouts []string
	// Location is the zone of times written without one; nil means UTC.
	Location *time.Location
	// Region is the default phone region (ISO 3166 code); "" means "US".
	Region string
}

// Converter converts values for one field. It is safe for concurrent use.
type Converter struct {
	typ      value.Type
	layouts  []string
	loc      *time.Location
	region   string
	errPhone error // names the region, built once
	nanp     bool  // the region dials +1: NANPFast reads national forms
}

// New checks the spec and prepares a converter.
func New(s Spec) (*Converter, error) {
	if int(s.Type) >= len(value.Names()) {
		return nil, fmt.Errorf("unknown field type %d", s.Type)
	}
	c := &Converter{typ: s.Type, loc: s.Location, region: strings.ToUpper(strings.TrimSpace(s.Region))}
	if c.loc == nil {
		c.loc = time.UTC
	}
	if c.region == "" {
		c.region = "US"
	}
	if !phonenumbers.GetSupportedRegions()[c.region] {
		return nil, fmt.Errorf("unknown phone region %q (want an ISO 3166 code such as US or GB)", s.Region)
	}
	c.errPhone = errors.New("not a possible phone number for region " + c.region)
	c.nanp = phonenumbers.GetCountryCodeForRegion(c.region) == 1
	if len(s.Layouts) > 0 && s.Type != value.Date && s.Type != value.Datetime {
		return nil, fmt.Errorf("time layouts apply to date and datetime fields, not %s", s.Type)
	}
	for _, l := range s.Layouts {
		if err := checkLayout(l); err != nil {
			return nil, err
		}
	}
	c.layouts = append([]string(nil), s.Layouts...)
	return c, nil
}

// Type is the field type the converter produces.
func (c *Converter) Type() value.Type { return c.typ }

// checkLayout rejects a layout that holds no element of Go's reference
// time, the usual slip of writing "YYYY-MM-DD" or "%Y-%m-%d".
func checkLayout(l string) error {
	if strings.TrimSpace(l) == "" {
		return errors.New("empty time layout")
	}
	// Any time other than the reference one: a layout with an element
	// formats to something else than itself.
	probe := time.Date(1999, 12, 31, 23, 59, 58, 0, time.UTC)
	if probe.Format(l) == l {
		return fmt.Errorf("time layout %q has no date or time element (write Go's reference time, e.g. \"01/02/2006 3:04 PM\")", l)
	}
	return nil
}

// FromJSON converts a gjson value. A missing value or JSON null is nil.
func (c *Converter) FromJSON(r gjson.Result) (any, error) {
	switch r.Type {
	case gjson.String:
		return c.fromString(r.Str, r.Raw)
	case gjson.Number:
		return c.fromNumber(r.Raw, r.Num)
	case gjson.True:
		return c.fromBool(true)
	case gjson.False:
		return c.fromBool(false)
	case gjson.JSON:
		return c.fromJSONText(r.Raw)
	}
	return nil, nil
}

// FromValue converts a Go value: an expr result, a YAML default or a value
// read from a database driver.
func (c *Converter) FromValue(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return c.fromString(x, "")
	case []byte: // database drivers hand text columns over as bytes
		return c.fromString(string(x), "")
	case bool:
		return c.fromBool(x)
	case int:
		return c.fromInt64(int64(x))
	case int64:
		return c.fromInt64(x)
	case int32:
		return c.fromInt64(int64(x))
	case float64:
		return c.fromFloat(x)
	case float32:
		return c.fromFloat(float64(x))
	case json.Number:
		if !gjson.Valid(string(x)) {
			return nil, c.invalid()
		}
		return c.fromNumber(string(x), gjson.Parse(string(x)).Num)
	case decimal.Decimal:
		return c.fromDecimal(x)
	case time.Time:
		return c.fromTime(x)
	case json.RawMessage:
		if !gjson.ValidBytes(x) {
			return nil, errInvalidJSON
		}
		return c.FromJSON(gjson.ParseBytes(x))
	case []string:
		return c.fromStrings(x)
	case []any, map[string]any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, errUnsupported
		}
		return c.fromJSONText(string(b))
	}
	return nil, errUnsupported
}

// fromString converts text. quoted is the JSON literal of s when the value
// came from JSON ("" otherwise), reused as is by json fields.
func (c *Converter) fromString(s, quoted string) (any, error) {
	if c.typ == value.String {
		return s, nil
	}
	t := strings.TrimSpace(s)
	if t == "" || isNullToken(t) {
		return nil, nil
	}
	switch c.typ {
	case value.Integer:
		return parseInteger(t)
	case value.Decimal:
		return parseDecimal(t)
	case value.Float:
		return parseFloat(t)
	case value.Boolean:
		return parseBool(t)
	case value.Datetime:
		if isZeroDate(t) {
			return nil, nil
		}
		tm, err := ParseTime(t, c.layouts, c.loc)
		if err != nil {
			return nil, err
		}
		return tm, nil
	case value.Date:
		if isZeroDate(t) {
			return nil, nil
		}
		tm, err := ParseTime(t, c.layouts, c.loc)
		if err != nil {
			return nil, err
		}
		return c.date(tm), nil
	case value.Phone:
		return c.phone(t)
	case value.Email:
		return email(t)
	case value.URL:
		return webURL(t)
	case value.JSON:
		return jsonFromString(t, quoted)
	case value.StringArray:
		return splitList(t), nil
	}
	return nil, errUnsupported
}

// fromNumber converts a number given as its JSON text and float value.
func (c *Converter) fromNumber(raw string, num float64) (any, error) {
	switch c.typ {
	case value.String:
		return raw, nil
	case value.Integer:
		return parseInteger(raw)
	case value.Decimal:
		return parseDecimal(raw)
	case value.Float:
		return checkFloat(num)
	case value.Boolean:
		switch num {
		case 1:
			return true, nil
		case 0:
			return false, nil
		}
		return nil, errBoolean
	case value.Datetime:
		tm, err := c.epoch(raw)
		if err != nil {
			return nil, err
		}
		return tm, nil
	case value.Date:
		tm, err := c.epoch(raw)
		if err != nil {
			return nil, err
		}
		return c.date(tm), nil
	case value.Phone:
		return c.phone(raw)
	case value.JSON:
		return json.RawMessage(raw), nil
	case value.StringArray:
		return []string{raw}, nil
	}
	return nil, c.invalid()
}

func (c *Converter) fromBool(b bool) (any, error) {
	text := "false"
	if b {
		text = "true"
	}
	switch c.typ {
	case value.Boolean:
		return b, nil
	case value.String:
		return text, nil
	case value.JSON:
		return json.RawMessage(text), nil
	case value.StringArray:
		return []string{text}, nil
	}
	return nil, c.invalid()
}

// fromJSONText converts a JSON object or array given as its text.
func (c *Converter) fromJSONText(raw string) (any, error) {
	switch c.typ {
	case value.String:
		return string(compact(raw)), nil
	case value.JSON:
		return json.RawMessage(compact(raw)), nil
	case value.StringArray:
		r := gjson.Parse(raw)
		if !r.IsArray() {
			return nil, errStringArray
		}
		return arrayStrings(r), nil
	}
	return nil, c.invalid()
}

// epoch reads a number as Unix time, unless the field has layouts: those
// come first for numbers too (20240102 with layout 20060102).
func (c *Converter) epoch(raw string) (time.Time, error) {
	if len(c.layouts) > 0 {
		return ParseTime(raw, c.layouts, c.loc)
	}
	return epoch(raw)
}

// date keeps the calendar date of t as seen in the field's zone.
func (c *Converter) date(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// invalid is the error for a value of the wrong JSON kind for the type.
func (c *Converter) invalid() error {
	if int(c.typ) < len(errByType) {
		return errByType[c.typ]
	}
	return errUnsupported
}
