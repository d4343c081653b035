package exprfn

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
)

// record is one record's fields as the engine hands them to expressions:
// converted values, nil for empty fields.
func record() map[string]any {
	return map[string]any{
		"first_name":   "  mary-JANE ",
		"last_name":    "o'NEIL",
		"email":        " Mary@Example.COM",
		"phone":        "(415) 555-2671",
		"tags":         "Roofing; Siding",
		"zip":          int64(2134),
		"status":       "N/A",
		"flag":         "yes",
		"created":      "05/15/2024",
		"created_ms":   int64(1715783445000),
		"updated":      time.Date(2024, 5, 15, 2, 30, 0, 0, time.UTC),
		"amount":       decimal.RequireFromString("150.50"),
		"amount_text":  "$1,250.00",
		"raw":          `{"a":[10,20]}`,
		"lead_results": leadResults,
		"missing":      nil,
	}
}

func TestThroughExpr(t *testing.T) {
	cases := []struct{ src, want string }{
		{`title_case(trim(first_name)) + " " + title_case(last_name)`, "string:Mary-Jane O'Neil"},
		{`concat(title_case(trim(first_name)), " ", missing, title_case(last_name))`, "string:Mary-Jane O'Neil"},
		{`trim(missing)`, "nil"},
		{`upper(missing) == nil && lower(trim(email)) == "mary@example.com"`, "bool:true"},
		{`email_domain(email) == "example.com"`, "bool:true"},
		{`email_domain(missing) == "example.com"`, "bool:false"},
		{`title_case(missing) == "X"`, "bool:false"},
		{`split(tags, ";")`, `[]string:["Roofing" "Siding"]`},
		{`len(split(tags, ";")) == 2 && split(tags, ";")[1] + "!" == "Siding!"`, "bool:true"},
		{`join(split(tags, ";"), " | ")`, "string:Roofing | Siding"},
		{`concat([1], missing, [2])`, `[]interface {}:[1,2]`},
		{`left(phone, 5) + right(phone, 4)`, "string:(415)2671"},
		{`digits_only(phone)`, "string:4155552671"},
		{`regex_match(phone, "^\\(\\d{3}\\)") && !regex_match(missing, ".")`, "bool:true"},
		{`regex_replace(phone, "\\D", "")`, "string:4155552671"},
		{`regex_extract(phone, "\\((\\d+)\\)", 1)`, "string:415"},
		{`to_e164(phone)`, "string:+14155552671"},
		{`to_e164(missing, "US") ?? "none"`, "string:none"},
		{`sha256(lower(trim(email)))`, "string:" + sha256Hex("mary@example.com")},
		{`base64(hmac_sha256(base64_decode("SmVmZQ=="), "what do ya want for nothing?"))`, "string:W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="},
		{`hex(hmac_sha1("Jefe", "what do ya want for nothing?"))`, "string:effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
		{`base64(missing) ?? hex(email_domain(email))`, "string:6578616d706c652e636f6d"},
		{`unix_now() > 1700000000`, "bool:true"},
		{`normalize_key("Both Homeowners Present?")`, "string:both_homeowners_present"},
		{`pad_zip(zip)`, "string:02134"},
		{`coalesce(missing, "", status)`, "string:N/A"},
		{`default(missing, "n/a")`, "string:n/a"},
		{`nullif(status, "N/A") ?? "unknown"`, "string:unknown"},
		{`is_blank(missing) && !is_blank(email)`, "bool:true"},
		{`to_bool(flag) ? "y" : "n"`, "string:y"},
		{`to_int("1,234") + 1`, "int:1235"},
		{`to_float("2.5") * 2`, "float64:5"},
		{`round(2.675, 2)`, "float64:2.68"},
		{`parse_datetime(created, "01/02/2006") > parse_datetime("2024-05-14")`, "bool:true"},
		{`format_datetime(parse_datetime(created_ms), "date")`, "string:2024-05-15"},
		{`format_datetime(updated, "date", "America/New_York")`, "string:2024-05-14"},
		{`date_trunc("month", updated) == parse_datetime("2024-05-01")`, "bool:true"},
		{`date_trunc("day", updated, "America/New_York")`, "time:2024-05-14T04:00:00Z@UTC"},
		{`now() > parse_datetime("2020-01-01")`, "bool:true"},
		{`kv(lead_results, "title", "value").appointment_result`, "string:Sold"},
		{`kv(lead_results, "title", "value")?.nothing_here ?? "-"`, "string:-"},
		{`kv_get(lead_results, "title", "value", "Appointment Result", "Result")`, "string:Sold"},
		{`kv_get(missing, "title", "value", "Result")`, "nil"},
		{`json_parse(raw).a[1] + 1`, "int:21"},
		{`json_string({"a": [1, "x"]})`, `string:{"a":[1,"x"]}`},
		{`json_get(lead_results, "3.value")`, "string:Demo"},
		// decimal operators
		{`amount > 100 && amount < 150.51 && amount == 150.5 && amount != 1`, "bool:true"},
		{`amount * 2`, "decimal:301"},
		{`amount + parse_decimal(amount_text)`, "decimal:1400.5"},
		{`amount - 0.5`, "decimal:150"},
		{`amount / 4`, "decimal:37.625"},
		{`parse_decimal(amount_text) >= 1250`, "bool:true"},
		{`round(amount, 0)`, "decimal:151"},
	}
	env := record()
	for _, tc := range cases {
		prog, err := expr.Compile(tc.src, append(Options(), expr.Env(env))...)
		if err != nil {
			t.Errorf("compile %s: %v", tc.src, err)
			continue
		}
		out, err := expr.Run(prog, env)
		got := show(out)
		if err != nil {
			got = "err:" + err.Error()
		}
		if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.src, got, tc.want)
		}
	}
	t.Run("every function is exercised", func(t *testing.T) {
		var all strings.Builder
		for _, tc := range cases {
			all.WriteString(tc.src + "\n")
		}
		for _, n := range Names() {
			if !regexp.MustCompile(`\b` + n + `\(`).MatchString(all.String()) {
				t.Errorf("no expression calls %s", n)
			}
		}
	})
}

// TestNilAtRunTime compiles against typed fields and runs with every field
// nil: the case of a record where the CRM left them empty.
func TestNilAtRunTime(t *testing.T) {
	cases := []struct{ src, want string }{
		{`amount > 100`, "bool:false"},
		{`amount == nil`, "bool:true"},
		{`amount * 2`, "nil"},
		{`email_domain(email) == "example.com"`, "bool:false"},
		{`title_case(trim(first_name))`, "nil"},
		{`concat(first_name, " ", last_name)`, "string: "},
		{`split(tags, ";") ?? []`, "[]interface {}:[]"},
		{`kv_get(lead_results, "title", "value", "Result") ?? "none"`, "string:none"},
		{`to_e164(phone)`, "nil"},
		{`pad_zip(zip)`, "nil"},
		{`parse_datetime(created, "01/02/2006")`, "nil"},
		{`regex_match(phone, "x")`, "bool:false"},
	}
	empty := map[string]any{}
	for k := range record() {
		empty[k] = nil
	}
	for _, tc := range cases {
		prog, err := expr.Compile(tc.src, append(Options(), expr.Env(record()))...)
		if err != nil {
			t.Errorf("compile %s: %v", tc.src, err)
			continue
		}
		out, err := expr.Run(prog, empty)
		got := show(out)
		if err != nil {
			got = "err:" + err.Error()
		}
		if got != tc.want {
			t.Errorf("%s = %s, want %s", tc.src, got, tc.want)
		}
	}
}

// TestCompileErrors checks that the declared signatures catch mistakes
// when a pipeline loads, not on the first record.
func TestCompileErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`left(first_name)`, "not enough arguments to call left"},
		{`left(first_name, "3")`, "cannot use string as argument (type int) to call left"},
		{`kv_get(lead_results, "title", "value")`, "not enough arguments to call kv_get"},
		{`date_trunc(1, updated, "UTC")`, "cannot use int as argument (type string) to call date_trunc"},
		{`to_e164(phone, "US", 1)`, "too many arguments to call to_e164"},
	}
	for _, tc := range cases {
		_, err := expr.Compile(tc.src, append(Options(), expr.Env(record()))...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("compile %s: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

func sha256Hex(s string) string {
	v, _ := sha256Fn(s)
	return v.(string)
}

func BenchmarkFullName(b *testing.B) {
	env := record()
	prog, err := expr.Compile(`title_case(trim(first_name)) + " " + title_case(last_name)`,
		append(Options(), expr.Env(env))...)
	if err != nil {
		b.Fatal(err)
	}
	var machine vm.VM
	b.ReportAllocs()
	for b.Loop() {
		if _, err := machine.Run(prog, env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkKVGet(b *testing.B) {
	env := record()
	prog, err := expr.Compile(`kv_get(lead_results, "title", "value", "Appointment Result", "Result")`,
		append(Options(), expr.Env(env))...)
	if err != nil {
		b.Fatal(err)
	}
	var machine vm.VM
	b.ReportAllocs()
	for b.Loop() {
		if _, err := machine.Run(prog, env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
