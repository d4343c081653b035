package validate

import (
	"strings"
	"testing"
	"time"
)

// TestDocumentedMessages: the error messages the generated reference
// (docs/reference/validators.md) shows in each validator's Message are the
// ones it returns, and what it says it keeps is what it keeps.
func TestDocumentedMessages(t *testing.T) {
	for _, n := range Names() {
		if info, _ := Lookup(n); info.Keeps == "" || info.Message == "" {
			t.Errorf("validator %q: its Info has no Keeps or Message for the reference", n)
		}
	}
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		arg  any
		bad  any
	}{
		{"required", nil, nil},
		{"not_empty", nil, "  "},
		{"email", nil, "john@localhost"},
		{"phone", nil, "123-4567"},
		{"url", nil, "ftp://example.com"},
		{"date", nil, "2023-02-29"},
		{"datetime", nil, "01/15/2024"},
		{"decimal", nil, "$12.50"},
		{"integer", nil, "42.5"},
		{"boolean", nil, "maybe"},
		{"zip_code", nil, "2134"},
		{"zip_code", "CA", "K1A0B"},
		{"zip_code", map[string]any{"pattern": "[0-9]{3}"}, "12"},
		{"state", nil, "XX"},
		{"object_id", nil, "abc"},
		{"min", 3, int64(1)},
		{"min", day, "2023-12-31"},
		{"min", 3, "three"},
		{"max", 100, int64(101)},
		{"max", time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), "2025-01-01"},
		{"min_length", 3, "ab"},
		{"min_length", 2, []string{"a"}},
		{"max_length", 80, strings.Repeat("x", 81)},
		{"length", 5, "abcd"},
		{"regex", "^[A-Z]", "abc"},
		{"one_of", []any{"new", "open", "won"}, "lost"},
		{"digits", nil, "-5"},
		{"uuid", nil, "123e4567e89b12d3a456426614174000"},
	} {
		info, ok := Lookup(c.name)
		if !ok {
			t.Errorf("validator %q is not registered", c.name)
			continue
		}
		v, err := Build(c.name, c.arg)
		if err != nil {
			t.Errorf("%s(%v): %v", c.name, c.arg, err)
			continue
		}
		_, err = v.Validate(c.bad)
		if err == nil {
			t.Errorf("%s(%v) passed %#v, want an error", c.name, c.arg, c.bad)
			continue
		}
		if !strings.Contains(info.Message, "`"+err.Error()+"`") {
			t.Errorf("%s(%v) says %q for %#v; its documented Message is %s", c.name, c.arg, err.Error(), c.bad, info.Message)
		}
	}
	for _, c := range []struct {
		name string
		arg  any
		in   any
		out  any
	}{
		{"email", nil, " john@example.com ", "john@example.com"},
		{"state", nil, "new york", "NY"},
		{"zip_code", "CA", "k1a0b1", "K1A 0B1"},
		{"one_of", map[string]any{"values": []any{"won", "lost"}, "ignore_case": true}, "WON", "won"},
		{"min_length", 2, "  ab", "  ab"},
	} {
		v, err := Build(c.name, c.arg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.Validate(c.in)
		if err != nil || got != c.out {
			t.Errorf("%s(%v) kept %#v (%v) of %#v; the reference says it keeps %#v", c.name, c.arg, got, err, c.in, c.out)
		}
	}
}
