package convert

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/value"
	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"
)

// show renders a converted value with its Go type so one string compares
// both: "int64:42", "decimal.Decimal:12.50", "time.Time:2024-01-02T03:04:05Z".
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case time.Time:
		return "time.Time:" + x.Format(time.RFC3339Nano) + "@" + x.Location().String()
	case json.RawMessage:
		return "json:" + string(x)
	case []string:
		return fmt.Sprintf("[]string:%q", x)
	case decimal.Decimal:
		return "decimal:" + x.String()
	}
	return fmt.Sprintf("%T:%v", v, v)
}

type jsonCase struct {
	in   string // JSON text of the value; "" means the key is missing
	want string // show() of the result, or "err:<message>"
}

func runJSON(t *testing.T, spec Spec, cases []jsonCase) {
	t.Helper()
	c, err := New(spec)
	if err != nil {
		t.Fatalf("New(%+v): %v", spec, err)
	}
	for _, tc := range cases {
		r := gjson.Get(`{}`, "missing")
		if tc.in != "" {
			if !gjson.Valid(tc.in) {
				t.Fatalf("test input %s is not JSON", tc.in)
			}
			r = gjson.Parse(tc.in)
		}
		v, err := c.FromJSON(r)
		got := show(v)
		if err != nil {
			got = "err:" + err.Error()
			if v != nil {
				t.Errorf("%s %s: value %s returned with error", spec.Type, tc.in, show(v))
			}
		}
		if got != tc.want {
			t.Errorf("%s FromJSON(%s) = %s, want %s", spec.Type, tc.in, got, tc.want)
		}
	}
}

// nullish is what every non-string type reads as nil.
var nullish = []jsonCase{
	{``, "nil"}, {`null`, "nil"}, {`""`, "nil"}, {`"   "`, "nil"}, {`"\t\n"`, "nil"},
	{`"N/A"`, "nil"}, {`"n/a"`, "nil"}, {`"NA"`, "nil"}, {`"null"`, "nil"}, {`"NULL"`, "nil"},
	{`"None"`, "nil"}, {`" - "`, "nil"},
}

func TestNullish(t *testing.T) {
	for _, typ := range []value.Type{value.Integer, value.Decimal, value.Float, value.Boolean, value.Date,
		value.Datetime, value.Phone, value.Email, value.URL, value.JSON, value.StringArray} {
		runJSON(t, Spec{Type: typ}, nullish)
	}
}

func TestString(t *testing.T) {
	runJSON(t, Spec{Type: value.String}, []jsonCase{
		{``, "nil"},
		{`null`, "nil"},
		{`"hello"`, "string:hello"},
		{`"  padded  "`, "string:  padded  "},
		{`""`, "string:"},
		{`"N/A"`, "string:N/A"},
		{`"caf\u00e9 \"q\""`, `string:café "q"`},
		{`12345678901234567890`, "string:12345678901234567890"},
		{`1.50`, "string:1.50"},
		{`-2e10`, "string:-2e10"},
		{`true`, "string:true"},
		{`false`, "string:false"},
		{`{"a": 1, "b": [1, 2]}`, `string:{"a":1,"b":[1,2]}`},
		{`[ "x" , "y" ]`, `string:["x","y"]`},
	})
}

func TestInteger(t *testing.T) {
	runJSON(t, Spec{Type: value.Integer}, []jsonCase{
		{`42`, "int64:42"},
		{`-7`, "int64:-7"},
		{`12.0`, "int64:12"},
		{`1e3`, "int64:1000"},
		{`0e30`, "int64:0"},
		{`9223372036854775807`, "int64:9223372036854775807"},
		{`-9223372036854775808`, "int64:-9223372036854775808"},
		{`9223372036854775808`, "err:integer out of range"},
		{`1e19`, "err:integer out of range"},
		{`1e400`, "err:integer out of range"},
		{`12.5`, "err:not a whole number"},
		{`"1,234"`, "int64:1234"},
		{`" 42 "`, "int64:42"},
		{`"+7"`, "int64:7"},
		{`"12.5"`, "err:not a whole number"},
		{`"1,234.00"`, "int64:1234"},
		{`"$1,000"`, "int64:1000"},
		{`"(15)"`, "int64:-15"},
		{`"12,34"`, "err:not a valid integer"},
		{`"1,5"`, "err:not a valid integer"},
		{`"1 000"`, "err:not a valid integer"},
		{`"abc"`, "err:not a valid integer"},
		{`"0x1F"`, "err:not a valid integer"},
		{`"--5"`, "err:not a valid integer"},
		{`"99999999999999999999"`, "err:integer out of range"},
		{`true`, "err:not a valid integer"},
		{`{"a":1}`, "err:not a valid integer"},
		{`[1]`, "err:not a valid integer"},
	})
}

func TestDecimal(t *testing.T) {
	runJSON(t, Spec{Type: value.Decimal}, []jsonCase{
		{`12.50`, "decimal:12.5"},
		{`0.1`, "decimal:0.1"},
		{`12345678901234567890.123456789`, "decimal:12345678901234567890.123456789"},
		{`1.5e3`, "decimal:1500"},
		{`-2E-2`, "decimal:-0.02"},
		{`"$1,250.00"`, "decimal:1250"},
		{`"-$1,250.75"`, "decimal:-1250.75"},
		{`"$-3.10"`, "decimal:-3.1"},
		{`"€ 99.99"`, "decimal:99.99"},
		{`"12.50 £"`, "decimal:12.5"},
		{`"(12.50)"`, "decimal:-12.5"},
		{`"( $1,000.01 )"`, "decimal:-1000.01"},
		{`"-(12.50)"`, "err:not a valid decimal"},
		{`" 7 "`, "decimal:7"},
		{`".5"`, "decimal:0.5"},
		{`"1,5"`, "err:not a valid decimal"},
		{`"1 250,5"`, "err:not a valid decimal"},
		{`"12.5.1"`, "err:not a valid decimal"},
		{`"NaN"`, "err:not a valid decimal"},
		{`"$"`, "err:not a valid decimal"},
		{`false`, "err:not a valid decimal"},
	})
}

func TestFloat(t *testing.T) {
	runJSON(t, Spec{Type: value.Float}, []jsonCase{
		{`1.25`, "float64:1.25"},
		{`-3`, "float64:-3"},
		{`1e400`, "err:float out of range"},
		{`"1,234.5"`, "float64:1234.5"},
		{`"$0.99"`, "float64:0.99"},
		{`"Infinity"`, "err:not a valid float"},
		{`"NaN"`, "err:not a valid float"},
		{`"1e400"`, "err:float out of range"},
		{`"abc"`, "err:not a valid float"},
		{`true`, "err:not a valid float"},
	})
}

func TestBoolean(t *testing.T) {
	var cases []jsonCase
	for _, s := range []string{"true", "TRUE", "True", "yes", "Yes", "Y", "y", "1", "on", "ON", "t", "T", " yes "} {
		cases = append(cases, jsonCase{`"` + s + `"`, "bool:true"})
	}
	for _, s := range []string{"false", "False", "no", "NO", "n", "N", "0", "off", "f", "F"} {
		cases = append(cases, jsonCase{`"` + s + `"`, "bool:false"})
	}
	cases = append(cases,
		jsonCase{`true`, "bool:true"}, jsonCase{`false`, "bool:false"},
		jsonCase{`1`, "bool:true"}, jsonCase{`0`, "bool:false"}, jsonCase{`1.0`, "bool:true"},
		jsonCase{`2`, "err:not a valid boolean"}, jsonCase{`"maybe"`, "err:not a valid boolean"},
		jsonCase{`"yess"`, "err:not a valid boolean"}, jsonCase{`"2"`, "err:not a valid boolean"},
		jsonCase{`{}`, "err:not a valid boolean"},
	)
	runJSON(t, Spec{Type: value.Boolean}, cases)
}

func TestDatetime(t *testing.T) {
	runJSON(t, Spec{Type: value.Datetime}, []jsonCase{
		{`"2024-01-02T03:04:05Z"`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`"2024-01-02T03:04:05.123+02:00"`, "time.Time:2024-01-02T01:04:05.123Z@UTC"},
		{`"2024-01-02T03:04:05-0530"`, "time.Time:2024-01-02T08:34:05Z@UTC"},
		{`"2024-01-02T03:04:05+01"`, "time.Time:2024-01-02T02:04:05Z@UTC"},
		{`"2024-01-02T03:04:05"`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`"2024-01-02t03:04"`, "time.Time:2024-01-02T03:04:00Z@UTC"},
		{`"2024-01-02 03:04:05"`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`"2024-01-02 03:04:05.5"`, "time.Time:2024-01-02T03:04:05.5Z@UTC"},
		{`"2024-01-02 03:04:05,25"`, "time.Time:2024-01-02T03:04:05.25Z@UTC"},
		{`"2024-01-02 03:04:05.1234567891"`, "time.Time:2024-01-02T03:04:05.123456789Z@UTC"},
		{`"2024-01-02 03:04:05 UTC"`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`"2024-01-02 03:04:05 +0000"`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`"2024-01-02"`, "time.Time:2024-01-02T00:00:00Z@UTC"},
		{`"2024-02-29"`, "time.Time:2024-02-29T00:00:00Z@UTC"},
		{`1704164645`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`1704164645123`, "time.Time:2024-01-02T03:04:05.123Z@UTC"},
		{`"1704164645123"`, "time.Time:2024-01-02T03:04:05.123Z@UTC"},
		{`"1704164645"`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`1704164645.25`, "time.Time:2024-01-02T03:04:05.25Z@UTC"},
		{`1.704164645e9`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`99999999999`, "time.Time:5138-11-16T09:46:39Z@UTC"},
		{`100000000000`, "time.Time:1973-03-03T09:46:40Z@UTC"},
		{`-86400`, "time.Time:1969-12-31T00:00:00Z@UTC"},
		{`"2024-02-30"`, "err:impossible date"},
		{`"0000-00-00 00:00:00"`, "nil"},
		{`"0000-00-00"`, "nil"},
		{`"0000-01-01"`, "err:impossible date"},
		{`"2023-02-29"`, "err:impossible date"},
		{`"2024-13-01"`, "err:impossible date"},
		{`"2024-01-02T24:00:00"`, "err:impossible date"},
		{`"2024-01-02T10:61"`, "err:impossible date"},
		{`"2024-01-02T03:04:05+25:00"`, "err:not a valid datetime"},
		{`"2024-01-02T03:04:05 PST"`, "err:not a valid datetime"},
		{`"01/02/2024"`, "err:not a valid datetime"},
		{`"yesterday"`, "err:not a valid datetime"},
		{`"2024-1-2"`, "err:not a valid datetime"},
		{`9223372036854775807`, "err:datetime out of range"},
		{`true`, "err:not a valid datetime"},
	})
}

func TestDatetimeLocationAndLayouts(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	runJSON(t, Spec{Type: value.Datetime, Location: ny, Layouts: []string{"01/02/2006 3:04 PM", "01/02/2006"}}, []jsonCase{
		{`"01/02/2024 3:04 PM"`, "time.Time:2024-01-02T20:04:00Z@UTC"},
		{`"07/02/2024 3:04 PM"`, "time.Time:2024-07-02T19:04:00Z@UTC"}, // daylight time
		{`"01/02/2024"`, "time.Time:2024-01-02T05:00:00Z@UTC"},
		{`"02/30/2024"`, "err:impossible date"},
		{`"2024-01-02T03:04:05"`, "time.Time:2024-01-02T08:04:05Z@UTC"}, // naive → New York
		{`"2024-01-02T03:04:05Z"`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`1704164645`, "time.Time:2024-01-02T03:04:05Z@UTC"},
		{`"13/45/2024 9:00 AM"`, "err:impossible date"},
		{`"Jan 2 2024"`, "err:not a valid datetime"},
	})
	runJSON(t, Spec{Type: value.Datetime, Layouts: []string{"20060102"}}, []jsonCase{
		{`"20240102"`, "time.Time:2024-01-02T00:00:00Z@UTC"},
		{`20240102`, "time.Time:2024-01-02T00:00:00Z@UTC"}, // layouts come first for numbers too
		{`1704164645`, "time.Time:2024-01-02T03:04:05Z@UTC"},
	})
}

func TestDate(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	runJSON(t, Spec{Type: value.Date}, []jsonCase{
		{`20240102`, "time.Time:1970-08-23T00:00:00Z@UTC"}, // without a layout a number is epoch seconds
		{`"2024-01-02"`, "time.Time:2024-01-02T00:00:00Z@UTC"},
		{`"2024-01-02T23:59:59Z"`, "time.Time:2024-01-02T00:00:00Z@UTC"},
		{`"2024-01-02T23:59:59-05:00"`, "time.Time:2024-01-03T00:00:00Z@UTC"},
		{`1704164645000`, "time.Time:2024-01-02T00:00:00Z@UTC"},
		{`"2024-02-30"`, "err:impossible date"},
	})
	runJSON(t, Spec{Type: value.Date, Location: ny}, []jsonCase{
		{`"2024-01-02"`, "time.Time:2024-01-02T00:00:00Z@UTC"},
		{`"2024-01-02T03:00:00Z"`, "time.Time:2024-01-01T00:00:00Z@UTC"}, // 22:00 the day before in New York
		{`"2024-01-02T03:00:00"`, "time.Time:2024-01-02T00:00:00Z@UTC"},
	})
}

func TestPhone(t *testing.T) {
	runJSON(t, Spec{Type: value.Phone}, []jsonCase{
		{`"+1 (555) 123-4567"`, "string:+15551234567"},
		{`"555.123.4567"`, "string:+15551234567"},
		{`"(415) 555-2671 ext. 12"`, "string:+14155552671"},
		{`"1-415-555-2671"`, "string:+14155552671"},
		{`"+44 20 7946 0958"`, "string:+442079460958"},
		{`4155552671`, "string:+14155552671"},
		{`"555-0123"`, "err:not a possible phone number for region US"},
		{`"call me"`, "err:not a possible phone number for region US"},
		{`"12"`, "err:not a possible phone number for region US"},
		{`true`, "err:not a valid phone number"},
	})
	runJSON(t, Spec{Type: value.Phone, Region: "gb"}, []jsonCase{
		{`"020 7946 0958"`, "string:+442079460958"},
		{`"+1 415 555 2671"`, "string:+14155552671"},
		{`"12"`, "err:not a possible phone number for region GB"},
	})
}

func TestEmail(t *testing.T) {
	runJSON(t, Spec{Type: value.Email}, []jsonCase{
		{`"  John.Doe@Example.COM "`, "string:John.Doe@example.com"},
		{`"jane@example.com"`, "string:jane@example.com"},
		{`"mailto:Jane@EXAMPLE.org"`, "string:Jane@example.org"},
		{`"ann@Bücher.DE"`, "string:ann@bücher.de"},
		{`"no-at-sign"`, "err:not a valid email"},
		{`"@example.com"`, "err:not a valid email"},
		{`"a@"`, "err:not a valid email"},
		{`"a@b@c.com"`, "err:not a valid email"},
		{`12`, "err:not a valid email"},
	})
}

func TestURL(t *testing.T) {
	runJSON(t, Spec{Type: value.URL}, []jsonCase{
		{`" https://example.com/a?b=1 "`, "string:https://example.com/a?b=1"},
		{`"http://example.com"`, "string:http://example.com"},
		{`"HTTPS://Example.com"`, "string:HTTPS://Example.com"},
		{`"www.acme.com"`, "string:https://www.acme.com"},
		{`"acme.com/contact"`, "string:https://acme.com/contact"},
		{`"acme.com:8080/x"`, "string:https://acme.com:8080/x"},
		{`"ftp://example.com/file"`, "err:url scheme must be http or https"},
		{`"https://"`, "err:not a valid url"},
		{`"localhost"`, "err:not a valid url"},
		{`"mailto:a@b.com"`, "err:not a valid url"},
		{`"not a url.com"`, "err:not a valid url"},
		{`"https://exa mple.com"`, "err:not a valid url"},
		{`3`, "err:not a valid url"},
	})
}

func TestJSON(t *testing.T) {
	runJSON(t, Spec{Type: value.JSON}, []jsonCase{
		{`{"a": 1,  "b": [true, null]}`, `json:{"a":1,"b":[true,null]}`},
		{`[{"title": "Result", "value": "Sold"}]`, `json:[{"title":"Result","value":"Sold"}]`},
		{`"[{\"title\": \"Result\", \"value\": \"Sold\"}]"`, `json:[{"title":"Result","value":"Sold"}]`},
		{`" {\"a\":1} "`, `json:{"a":1}`},
		{`"[{\"title\": "`, "err:string holds invalid json"},
		{`"plain text"`, `json:"plain text"`},
		{`12.50`, "json:12.50"},
		{`true`, "json:true"},
	})
}

func TestStringArray(t *testing.T) {
	runJSON(t, Spec{Type: value.StringArray}, []jsonCase{
		{`["a", " b ", "", null, 3, true, {"x": 1}]`, `[]string:["a" "b" "3" "true" "{\"x\":1}"]`},
		{`[]`, `[]string:[]`},
		{`"red, green,,blue "`, `[]string:["red" "green" "blue"]`},
		{`"Roofing;Siding; Windows"`, `[]string:["Roofing" "Siding" "Windows"]`},
		{`"a;b, c"`, `[]string:["a;b" "c"]`},
		{`"single"`, `[]string:["single"]`},
		{`42`, `[]string:["42"]`},
		{`{"a": 1}`, "err:not a valid string list"},
	})
}

func TestFromValue(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600))
	cases := []struct {
		typ  value.Type
		in   any
		want string
	}{
		{value.String, nil, "nil"},
		{value.String, "  x ", "string:  x "},
		{value.String, []byte("bytes"), "string:bytes"},
		{value.String, int64(12), "string:12"},
		{value.String, 1.5, "string:1.5"},
		{value.String, 1e21, "string:1e+21"},
		{value.String, json.Number("12345678901234567890"), "string:12345678901234567890"},
		{value.String, decimal.RequireFromString("1.50"), "string:1.5"},
		{value.String, true, "string:true"},
		{value.String, ts, "string:2024-01-02T02:04:05Z"},
		{value.String, map[string]any{"b": 1, "a": "x"}, `string:{"a":"x","b":1}`},
		{value.String, []string{"a", "b"}, `string:["a","b"]`},
		{value.Integer, 7, "int64:7"},
		{value.Integer, int32(7), "int64:7"},
		{value.Integer, 7.0, "int64:7"},
		{value.Integer, 7.5, "err:not a whole number"},
		{value.Integer, 1e19, "err:integer out of range"},
		{value.Integer, json.Number("42"), "int64:42"},
		{value.Integer, json.Number("4x"), "err:not a valid integer"},
		{value.Integer, decimal.RequireFromString("42.00"), "int64:42"},
		{value.Integer, "1,024", "int64:1024"},
		{value.Integer, true, "err:not a valid integer"},
		{value.Integer, struct{}{}, "err:unsupported value type"},
		{value.Decimal, 0.1, "decimal:0.1"},
		{value.Decimal, 3, "decimal:3"},
		{value.Decimal, json.Number("0.30"), "decimal:0.3"},
		{value.Decimal, "$5.25", "decimal:5.25"},
		{value.Float, decimal.RequireFromString("2.5"), "float64:2.5"},
		{value.Float, int64(2), "float64:2"},
		{value.Boolean, "yes", "bool:true"},
		{value.Boolean, int64(0), "bool:false"},
		{value.Boolean, false, "bool:false"},
		{value.Datetime, ts, "time.Time:2024-01-02T02:04:05Z@UTC"},
		{value.Datetime, time.Time{}, "nil"},
		{value.Datetime, int64(1704164645), "time.Time:2024-01-02T03:04:05Z@UTC"},
		{value.Datetime, "2024-01-02", "time.Time:2024-01-02T00:00:00Z@UTC"},
		{value.Date, ts, "time.Time:2024-01-02T00:00:00Z@UTC"},
		{value.Phone, "415 555 2671", "string:+14155552671"},
		{value.JSON, map[string]any{"a": []any{1, "x"}}, `json:{"a":[1,"x"]}`},
		{value.JSON, []any{"x"}, `json:["x"]`},
		{value.JSON, json.RawMessage(`{ "a" : 1 }`), `json:{"a":1}`},
		{value.JSON, json.RawMessage(`{`), "err:string holds invalid json"},
		{value.JSON, "plain", `json:"plain"`},
		{value.JSON, `[1, 2]`, `json:[1,2]`},
		{value.JSON, int64(3), "json:3"},
		{value.StringArray, []string{" a", "", "b"}, `[]string:["a" "b"]`},
		{value.StringArray, []any{"a", 2, nil}, `[]string:["a" "2"]`},
		{value.StringArray, "x;y", `[]string:["x" "y"]`},
	}
	for _, tc := range cases {
		c, err := New(Spec{Type: tc.typ})
		if err != nil {
			t.Fatal(err)
		}
		v, err := c.FromValue(tc.in)
		got := show(v)
		if err != nil {
			got = "err:" + err.Error()
		}
		if got != tc.want {
			t.Errorf("%s FromValue(%#v) = %s, want %s", tc.typ, tc.in, got, tc.want)
		}
	}
}

func TestNew(t *testing.T) {
	cases := []struct {
		spec Spec
		err  string // substring; "" means no error
	}{
		{Spec{Type: value.Phone}, ""},
		{Spec{Type: value.Phone, Region: " gb "}, ""},
		{Spec{Type: value.Phone, Region: "XX"}, `unknown phone region "XX"`},
		{Spec{Type: value.String, Region: "Narnia"}, `unknown phone region "Narnia"`},
		{Spec{Type: value.Datetime, Layouts: []string{"01/02/2006"}}, ""},
		{Spec{Type: value.Datetime, Layouts: []string{"YYYY-MM-DD"}}, `time layout "YYYY-MM-DD" has no date or time element`},
		{Spec{Type: value.Date, Layouts: []string{"%Y-%m-%d"}}, `time layout "%Y-%m-%d" has no date or time element`},
		{Spec{Type: value.Date, Layouts: []string{" "}}, "empty time layout"},
		{Spec{Type: value.Integer, Layouts: []string{"2006"}}, "time layouts apply to date and datetime fields, not integer"},
		{Spec{Type: value.Type(200)}, "unknown field type"},
	}
	for _, tc := range cases {
		c, err := New(tc.spec)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("New(%+v): %v", tc.spec, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("New(%+v) error = %v, want %q", tc.spec, err, tc.err)
		case tc.err == "" && c.Type() != tc.spec.Type:
			t.Errorf("Type() = %s, want %s", c.Type(), tc.spec.Type)
		}
	}
}
