package validate

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// BenchmarkValidators runs each validator on a typical passing value
// (and a few normalising or failing ones).
func BenchmarkValidators(b *testing.B) {
	cases := []struct {
		bench, name string
		arg, in     any
	}{
		{"email", "email", nil, "john.doe+crm@example-company.co.uk"},
		{"phone/e164", "phone", nil, "+15551234567"},
		{"phone/national", "phone", nil, "(555) 123-4567"},
		{"url", "url", nil, "https://www.example.com/contacts/123?ref=crm"},
		{"date", "date", nil, "2024-02-29"},
		{"datetime/rfc3339", "datetime", nil, "2024-02-29T13:45:00Z"},
		{"datetime/time", "datetime", nil, time.Now()},
		{"decimal/text", "decimal", nil, "1,234,567.89"},
		{"decimal/value", "decimal", nil, decimal.RequireFromString("1234.5")},
		{"integer/text", "integer", nil, "-1,234,567"},
		{"boolean", "boolean", nil, "Yes"},
		{"zip_code/US", "zip_code", nil, "12345-6789"},
		{"zip_code/CA", "zip_code", "CA", "K1A 0B1"},
		{"zip_code/CA-normalise", "zip_code", "CA", "k1a0b1"},
		{"state/code", "state", nil, "NY"},
		{"state/name", "state", nil, "New Hampshire"},
		{"object_id", "object_id", nil, "507f1f77bcf86cd799439011"},
		{"required", "required", nil, "x"},
		{"not_empty", "not_empty", nil, "x"},
		{"min/int", "min", 0, int64(42)},
		{"min/float", "min", 0.5, 0.75},
		{"min/decimal", "min", "0.5", decimal.RequireFromString("0.75")},
		{"max/time", "max", "2030-01-01", time.Now()},
		{"min_length", "min_length", 2, "José García"},
		{"regex", "regex", "^[A-Z]", "Alice"},
		{"one_of", "one_of", []any{"new", "open", "won", "lost"}, "won"},
		{"one_of/ignore_case", "one_of", map[string]any{"values": []any{"new", "open", "won"}, "ignore_case": true}, "won"},
		{"digits", "digits", nil, "5551234567"},
		{"email/invalid", "email", nil, "John Doe <john@example.com>"},
		{"state/invalid", "state", nil, "Ontario"},
	}
	for _, c := range cases {
		b.Run(c.bench, func(b *testing.B) {
			v := mustBuild(b, c.name, c.arg)
			in := c.in
			b.ReportAllocs()
			for b.Loop() {
				_, _ = v.Validate(in)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "values/s")
		})
	}
}
