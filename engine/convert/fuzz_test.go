package convert

import (
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/value"
	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"
)

// FuzzParseTime checks that whatever ParseTime accepts comes back in UTC,
// within years 1-9999, and reads back to the same instant from RFC 3339.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-01-02", "2024-01-02T03:04:05.123+02:00", "2024-02-30", "1704164645123",
		"-1.5", "2024-01-02 03:04:05 UTC", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s, nil, nil)
		if err != nil {
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) in %s, want UTC", s, tm.Location())
		}
		if y := tm.Year(); y < 1 || y > 9999 {
			t.Fatalf("ParseTime(%q) = %s, year out of range", s, tm)
		}
		back, err := ParseTime(tm.Format(time.RFC3339Nano), nil, nil)
		if err != nil || !back.Equal(tm) {
			t.Fatalf("ParseTime(%q) = %s, round trip gives %s, %v", s, tm, back, err)
		}
	})
}

// FuzzFromJSON feeds any JSON value to every type: no panic, a value and
// an error never together, and the value has the type's Go type.
func FuzzFromJSON(f *testing.F) {
	for _, s := range []string{`"$1,250.00"`, `12.0`, `"(12.50)"`, `"2024-01-02"`, `["a",1]`, `"a;b"`,
		`{"a":1}`, `"+1 (555) 123-4567"`, `"x@Y.com"`, `"www.a.com"`, `1e400`, `"1,2,3"`} {
		f.Add(s)
	}
	convs := make([]*Converter, 0, len(value.Names()))
	for i := range value.Names() {
		c, err := New(Spec{Type: value.Type(i)})
		if err != nil {
			f.Fatal(err)
		}
		convs = append(convs, c)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !gjson.Valid(s) {
			return
		}
		r := gjson.Parse(s)
		for _, c := range convs {
			v, err := c.FromJSON(r)
			if err != nil {
				if v != nil {
					t.Fatalf("%s FromJSON(%s) = %v with error %v", c.Type(), s, v, err)
				}
				continue
			}
			if v != nil && !hasGoType(c.Type(), v) {
				t.Fatalf("%s FromJSON(%s) = %T", c.Type(), s, v)
			}
		}
	})
}

func hasGoType(typ value.Type, v any) bool {
	switch v.(type) {
	case string:
		return typ == value.String || typ == value.Phone || typ == value.Email || typ == value.URL
	case int64:
		return typ == value.Integer
	case decimal.Decimal:
		return typ == value.Decimal
	case float64:
		return typ == value.Float
	case bool:
		return typ == value.Boolean
	case time.Time:
		return typ == value.Date || typ == value.Datetime
	case []string:
		return typ == value.StringArray
	}
	return typ == value.JSON
}
