package validate

import (
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// FuzzNumberText holds scanNumber and parseInteger to the libraries: text
// the validators accept must parse, and integers must agree with strconv.
func FuzzNumberText(f *testing.F) {
	for _, s := range []string{"1,234.5", "-9223372036854775808", "42.00", "1e5", ".5", "12,34", "+0", "9,223,372,036,854,775,807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		plain := strings.ReplaceAll(s, ",", "")
		if ok, _ := scanNumber(s); ok {
			if _, err := decimal.NewFromString(plain); err != nil {
				t.Fatalf("scanNumber accepted %q, decimal says %v", s, err)
			}
		}
		n, ok := parseInteger(s)
		whole, _, _ := strings.Cut(plain, ".")
		want, err := strconv.ParseInt(whole, 10, 64)
		if ok && (err != nil || n != want) {
			t.Fatalf("parseInteger(%q) = %d, strconv says %d, %v", s, n, want, err)
		}
		if !ok && err == nil && whole == plain && !strings.ContainsAny(s, ",") && s != "" && s[0] != '+' {
			t.Fatalf("parseInteger(%q) refused what strconv reads as %d", s, want)
		}
	})
}
