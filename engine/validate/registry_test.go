package validate

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The blueprint's list plus the common constraint validators: each must
// stay registered. A new validator needs no line here (its own file and
// test are the whole change).
var wantNames = []string{
	"boolean", "date", "datetime", "decimal", "digits", "email", "integer", "length",
	"max", "max_length", "min", "min_length", "not_empty", "object_id", "one_of",
	"phone", "regex", "required", "state", "url", "zip_code",
}

func TestNames(t *testing.T) {
	got := Names()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatalf("Names() = %v: not sorted and unique", got)
	}
	for _, n := range wantNames {
		if !slices.Contains(got, n) {
			t.Errorf("validator %q is no longer registered", n)
		}
	}
	for _, n := range Names() {
		info, ok := Lookup(n)
		if !ok || info.Name != n || info.Doc == "" || info.Arg == "" {
			t.Errorf("Lookup(%q) = %+v, %v", n, info, ok)
		}
		if want := n == "required" || n == "not_empty"; AcceptsNil(n) != want || info.NilOK != want {
			t.Errorf("AcceptsNil(%q) = %v, want %v", n, AcceptsNil(n), want)
		}
	}
	if AcceptsNil("nope") {
		t.Error("AcceptsNil of an unknown name")
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "email") {
			t.Fatalf("recover() = %v, want a panic naming email", r)
		}
	}()
	Register(Info{Name: "email"}, func(any) (Validator, error) { return nil, nil })
}

func TestBuildUnknown(t *testing.T) {
	tests := []struct{ name, suggestion, msg string }{
		{"emial", "email", `unknown validator "emial" (did you mean "email"?)`},
		{"Email", "email", `unknown validator "Email" (did you mean "email"?)`},
		{"min_lenght", "min_length", `unknown validator "min_lenght" (did you mean "min_length"?)`},
		{"zip", "zip_code", `unknown validator "zip" (did you mean "zip_code"?)`},
		{"zipcode", "zip_code", `unknown validator "zipcode" (did you mean "zip_code"?)`},
		{"oneof", "one_of", `unknown validator "oneof" (did you mean "one_of"?)`},
		{"objectid", "object_id", `unknown validator "objectid" (did you mean "object_id"?)`},
		{"bool", "boolean", `unknown validator "bool" (did you mean "boolean"?)`},
		{"credit_card", "", `unknown validator "credit_card"`},
		{"", "", `unknown validator ""`},
	}
	for _, tt := range tests {
		_, err := Build(tt.name, nil)
		var u *UnknownError
		if !errors.As(err, &u) || u.Name != tt.name || u.Suggestion != tt.suggestion || err.Error() != tt.msg {
			t.Errorf("Build(%q) error = %v (%#v), want %q", tt.name, err, u, tt.msg)
		}
	}
}

func TestBuildBadArgument(t *testing.T) {
	tests := []struct {
		name string
		arg  any
		msg  string
	}{
		{"email", true, `validator "email": takes no argument, got true`},
		{"required", "yes", `validator "required": takes no argument, got "yes"`},
		{"min_length", "three", `validator "min_length": argument must be a non-negative whole number, got "three"`},
		{"max_length", -1, `validator "max_length": argument must be a non-negative whole number, got -1`},
		{"length", 2.5, `validator "length": argument must be a non-negative whole number, got 2.5`},
		{"min", "soon", `validator "min": argument must be a number, a date (2006-01-02) or an RFC 3339 time, got "soon"`},
		{"max", []any{1}, `validator "max": argument must be a number, a date (2006-01-02) or an RFC 3339 time, got a list`},
		{"regex", "a(b", "validator \"regex\": argument must be a valid regular expression: error parsing regexp: missing closing ): `a(b`"},
		{"regex", nil, `validator "regex": argument must be a regular expression or {pattern: <regular expression>}, got nothing`},
		{"one_of", nil, `validator "one_of": argument must be a non-empty list of values or {values: [...], ignore_case: true}, got nothing`},
		{"one_of", []any{}, `validator "one_of": argument must be a non-empty list of values or {values: [...], ignore_case: true}, got a list`},
		{"one_of", map[string]any{"values": []any{"a"}, "ignore_case": "yes"}, `validator "one_of": ignore_case must be true or false, got "yes"`},
		{"one_of", map[string]any{"value": []any{"a"}}, `validator "one_of": unknown key "value" in argument (want values, ignore_case)`},
		{"one_of", []any{"a", []any{"b"}}, `validator "one_of": list values must be text, numbers or booleans, got a list`},
		{"phone", "USA", `validator "phone": argument must be a two-letter region code such as "US" or "GB", got "USA"`},
		{"phone", 1, `validator "phone": argument must be a two-letter region code such as "US" or "GB", got 1`},
		{"zip_code", "XX", `validator "zip_code": argument must be a country code (US, AT, AU, BE, BR, CA, CH, DE, DK, ES, FR, GB, IN, IT, JP, MX, NL, NO, NZ, PL, PT, SE) or {pattern: ...}, got "XX"`},
		{"zip_code", map[string]any{"pattern": "[0-9"}, "validator \"zip_code\": argument must be a valid regular expression: error parsing regexp: missing closing ]: `[0-9)$`"},
		{"zip_code", map[string]any{"regex": "x"}, `validator "zip_code": unknown key "regex" in argument (want pattern)`},
		{"object_id", 24, `validator "object_id": argument must be a regular expression or {pattern: <regular expression>}, got 24`},
	}
	for _, tt := range tests {
		v, err := Build(tt.name, tt.arg)
		if err == nil || err.Error() != tt.msg {
			t.Errorf("Build(%q, %#v) = %v, %v\nwant error %s", tt.name, tt.arg, v, err, tt.msg)
		}
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"alpha", "beta"}
	for in, want := range map[string]string{"alpah": "alpha", "bet": "beta", "betamax": "beta", "gamma": "", "al": "alpha"} {
		if got := suggest(in, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
