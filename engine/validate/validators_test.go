package validate

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestPhone(t *testing.T) {
	runCases(t, "phone", nil, []vcase{
		same("+15551234567"),
		same("+1 (555) 123-4567"),
		same("555.123.4567"),
		same("(555) 123-4567"),
		same("555-123-4567 ext. 89"),
		same("1-800-FLOWERS"),
		same("+44 20 7946 0958"), // a +country number whatever the region
		{in: " 555 123 4567 ", want: "555 123 4567"},
		same(""),
		same(int64(5551234567)),
		same([]string{"+15551234567", "555.123.4567"}),
		fails("123-4567", "Invalid phone number"), // no area code: local only
		fails("N/A", "Invalid phone number"),
		fails("call me", "Invalid phone number"),
		fails("+1 555 123 45678 999", "Invalid phone number"),
		fails("0", "Invalid phone number"),
		fails(int64(42), "Invalid phone number"),
		fails([]string{"+15551234567", "nope"}, "Invalid phone number"),
		fails(true, "Invalid phone number"),
	})
	runCases(t, "phone", "gb", []vcase{
		same("020 7946 0958"),
		same("+1 555 123 4567"),
		fails("0207", "Invalid phone number"),
	})
	// The region decides numbers without a country code.
	runCases(t, "phone", nil, []vcase{fails("020 7946 0958", "Invalid phone number")})
}

func TestURL(t *testing.T) {
	runCases(t, "url", nil, []vcase{
		same("https://example.com"),
		same("http://example.com/"),
		same("HTTPS://WWW.EXAMPLE.COM/Path?q=1&r=a%20b#top"),
		same("https://user:pa55@example.com:8443/x"),
		same("http://localhost:8080/health"),
		same("http://192.168.0.10/admin"),
		same("http://[::1]:8080/"),
		same("https://münchen.de/straße"),
		same("https://xn--mnchen-3ya.de"),
		same("https://example.com/search?q=a+b|c"),
		{in: " https://example.com ", want: "https://example.com"},
		same(""),
		fails("www.example.com", "Invalid URL"),
		fails("example.com", "Invalid URL"),
		fails("ftp://example.com/file", "Invalid URL"),
		fails("mailto:john@example.com", "Invalid URL"),
		fails("javascript:alert(1)", "Invalid URL"),
		fails("http://", "Invalid URL"),
		fails("https:///path", "Invalid URL"),
		fails("http:// example.com", "Invalid URL"),
		fails("https://example.com/a b", "Invalid URL"),
		fails("https://exa mple.com", "Invalid URL"),
		fails("https://example.com:99999", "Invalid URL"),
		fails("https://example.com:", "Invalid URL"),
		fails("https://example.com/%zz", "Invalid URL"),
		fails("https://example.com/%2", "Invalid URL"),
		fails("https://-example.com", "Invalid URL"),
		fails("http://999.1.1.1", "Invalid URL"),
		fails("http://[::1", "Invalid URL"),
		fails("http://[1.2.3.4]/", "Invalid URL"),
		fails("https://example.com\n", "Invalid URL"),
		fails("N/A", "Invalid URL"),
		fails(int64(1), "Invalid URL"),
	})
}

func TestDateAndDatetime(t *testing.T) {
	now := time.Date(2024, 2, 29, 13, 45, 0, 0, time.UTC)
	for _, name := range []string{"date", "datetime"} {
		msg := map[string]string{"date": "Invalid date", "datetime": "Invalid datetime"}[name]
		runCases(t, name, nil, []vcase{
			same(now),
			same(time.Time{}),
			same("2024-02-29"),
			same("2024-02-29T13:45:00Z"),
			same("2024-02-29T13:45:00.123456+05:30"),
			same("2024-02-29T13:45:00"),
			same("2024-02-29 13:45:00"),
			same("2024-02-29 13:45:00-07:00"),
			{in: " 2024-01-15 ", want: "2024-01-15"},
			same(""),
			fails("2023-02-29", msg),
			fails("2024-04-31", msg),
			fails("2024-13-01", msg),
			fails("2024-01-15 25:00:00", msg),
			fails("2024-01-15T10:00:00+25:00", msg),
			fails("01/15/2024", msg),
			fails("15.01.2024", msg),
			fails("2024-1-5", msg),
			fails("yesterday", msg),
			fails("N/A", msg),
			fails(int64(1700000000), msg),
		})
	}
}

func TestDecimal(t *testing.T) {
	runCases(t, "decimal", nil, []vcase{
		same(int64(-3)),
		same(1.5),
		same(dec("12345678901234567890.123")),
		same("12.50"),
		same("-0.5"),
		same("+7"),
		same(".5"),
		same("1,234"),
		same("1,234,567.89"),
		same("1.5e3"),
		same("2E-4"),
		{in: " 42 ", want: "42"},
		same(""),
		fails(math.NaN(), "Invalid decimal number"),
		fails(math.Inf(1), "Invalid decimal number"),
		fails("$12.50", "Invalid decimal number"),
		fails("12.50 USD", "Invalid decimal number"),
		fails("€1.234,56", "Invalid decimal number"),
		fails("1.234,56", "Invalid decimal number"),
		fails("12,34", "Invalid decimal number"),
		fails("1234,567", "Invalid decimal number"),
		fails(",123", "Invalid decimal number"),
		fails("1,,234", "Invalid decimal number"),
		fails("5.", "Invalid decimal number"),
		fails("1e", "Invalid decimal number"),
		fails("--1", "Invalid decimal number"),
		fails("12%", "Invalid decimal number"),
		fails("1 234", "Invalid decimal number"),
		fails("N/A", "Invalid decimal number"),
		fails("NaN", "Invalid decimal number"),
		fails("-", "Invalid decimal number"),
		fails(true, "Invalid decimal number"),
	})
}

func TestInteger(t *testing.T) {
	runCases(t, "integer", nil, []vcase{
		same(int64(math.MinInt64)),
		same(42.0),
		same(dec("9223372036854775807")),
		same(dec("12.000")),
		same("42"),
		same("-42"),
		same("+42"),
		same("1,234,567"),
		same("42.00"),
		same("9223372036854775807"),
		same("-9223372036854775808"),
		same("007"),
		{in: "\t12 ", want: "12"},
		same(""),
		fails(42.5, "Invalid integer"),
		fails(1e19, "Invalid integer"),
		fails(dec("1.5"), "Invalid integer"),
		fails(dec("9223372036854775808"), "Invalid integer"),
		fails("9223372036854775808", "Invalid integer"),
		fails("-9223372036854775809", "Invalid integer"),
		fails("99999999999999999999999", "Invalid integer"),
		fails("42.5", "Invalid integer"),
		fails("1e3", "Invalid integer"),
		fails("12,34", "Invalid integer"),
		fails("$5", "Invalid integer"),
		fails("five", "Invalid integer"),
		fails("N/A", "Invalid integer"),
		fails(false, "Invalid integer"),
	})
}

func TestBoolean(t *testing.T) {
	var cases []vcase
	for _, s := range []string{"true", "FALSE", "Yes", "no", "Y", "n", "t", "F", "1", "0", "on", "OFF"} {
		cases = append(cases, same(s))
	}
	cases = append(cases,
		same(true), same(false), same(int64(0)), same(int64(1)), same(""),
		vcase{in: " yes ", want: "yes"},
		fails("maybe", "Invalid boolean"),
		fails("2", "Invalid boolean"),
		fails("N/A", "Invalid boolean"),
		fails("yes!", "Invalid boolean"),
		fails("truee", "Invalid boolean"),
		fails(int64(2), "Invalid boolean"),
		fails(1.0, "Invalid boolean"),
	)
	runCases(t, "boolean", nil, cases)
}

func TestZipCode(t *testing.T) {
	us := []vcase{
		same("12345"),
		same("02134"),
		same("12345-6789"),
		{in: " 90210 ", want: "90210"},
		same(""),
		same([]string{"12345", "00501"}),
		fails("1234", "Invalid US ZIP code"),
		fails("123456", "Invalid US ZIP code"),
		fails("12345-678", "Invalid US ZIP code"),
		fails("12345 6789", "Invalid US ZIP code"),
		fails("123456789", "Invalid US ZIP code"),
		fails("ABCDE", "Invalid US ZIP code"),
		fails("１２３４５", "Invalid US ZIP code"), // full-width digits
		fails("K1A 0B1", "Invalid US ZIP code"),
		fails(int64(12345), "Invalid US ZIP code"),
	}
	runCases(t, "zip_code", nil, us)
	runCases(t, "zip_code", "us", us)
	countries := []struct {
		arg   string
		cases []vcase
	}{
		{"CA", []vcase{same("K1A 0B1"), {in: "k1a0b1", want: "K1A 0B1"}, {in: "k1a 0b1 ", want: "K1A 0B1"},
			fails("K1A-0B1", "Invalid CA postal code"), fails("D1A 0B1", "Invalid CA postal code"), fails("12345", "Invalid CA postal code")}},
		{"GB", []vcase{same("SW1A 1AA"), {in: "sw1a1aa", want: "SW1A 1AA"}, same("M1 1AE"), same("B33 8TH"), same("CR2 6XH"),
			same("DN55 1PT"), same("GIR 0AA"), {in: "ec1a  1bb", wantErr: "Invalid GB postal code"}, fails("SW1A", "Invalid GB postal code"), fails("QA1 1AA", "Invalid GB postal code")}},
		{"UK", []vcase{same("W1A 0AX"), fails("12345", "Invalid GB postal code")}},
		{"DE", []vcase{same("10115"), fails("1011", "Invalid DE postal code"), fails("D-10115", "Invalid DE postal code")}},
		{"FR", []vcase{same("75001"), fails("7500", "Invalid FR postal code")}},
		{"AU", []vcase{same("2000"), same("0800"), fails("20000", "Invalid AU postal code")}},
		{"NL", []vcase{same("1234 AB"), {in: "1234ab", want: "1234 AB"}, fails("0123 AB", "Invalid NL postal code"), fails("1234", "Invalid NL postal code")}},
		{"IN", []vcase{same("110001"), fails("011000", "Invalid IN postal code"), fails("11000", "Invalid IN postal code")}},
		{"BR", []vcase{same("01310-100"), same("01310100"), fails("0131-100", "Invalid BR postal code")}},
		{"JP", []vcase{same("100-0001"), fails("1000-001", "Invalid JP postal code")}},
	}
	for _, c := range countries {
		runCases(t, "zip_code", c.arg, c.cases)
	}
	runCases(t, "zip_code", map[string]any{"pattern": `[0-9]{3}-[0-9]{2}`}, []vcase{
		same("123-45"), fails("123-456", "Invalid postal code"), fails("x123-45", "Invalid postal code"),
	})
}

func TestState(t *testing.T) {
	runCases(t, "state", nil, []vcase{
		same("NY"),
		{in: "ny", want: "NY"},
		{in: " Ny ", want: "NY"},
		{in: "new york", want: "NY"},
		{in: "NEW   YORK", want: "NY"},
		{in: "District of Columbia", want: "DC"},
		{in: "Washington D.C.", want: "DC"},
		{in: "d.c.", want: "DC"},
		{in: "Washington", want: "WA"},
		{in: "Puerto Rico", want: "PR"},
		{in: "guam", want: "GU"},
		{in: "U.S. Virgin Islands", want: "VI"},
		{in: "american samoa", want: "AS"},
		{in: "Northern Mariana Islands", want: "MP"},
		{in: "Hawaiʻi", want: "HI"},
		same("AA"), same("AE"), same("AP"),
		{in: "Armed Forces Europe", want: "AE"},
		same(""),
		{in: []string{"ny", "CA"}, want: []string{"NY", "CA"}},
		same([]string{"NY", "CA"}),
		fails("XX", "Invalid US state: 'XX'"),
		fails("N/A", "Invalid US state: 'N/A'"),
		fails(" Ontario ", "Invalid US state: 'Ontario'"),
		fails("New Yrok", "Invalid US state: 'New Yrok'"),
		fails("N Y", "Invalid US state: 'N Y'"),
		fails("Californiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "Invalid US state: 'Californiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"),
		fails([]string{"NY", "ZZ"}, "Invalid US state: 'ZZ'"),
		fails(int64(36), "Invalid US state: '36'"),
	})
}

func TestObjectID(t *testing.T) {
	runCases(t, "object_id", nil, []vcase{
		same("507f1f77bcf86cd799439011"),
		same("507F1F77BCF86CD799439011"),
		{in: " 507f1f77bcf86cd799439011 ", want: "507f1f77bcf86cd799439011"},
		same(""),
		fails("507f1f77bcf86cd79943901", "Invalid object ID"),
		fails("507f1f77bcf86cd7994390111", "Invalid object ID"),
		fails("507f1f77bcf86cd79943901g", "Invalid object ID"),
		fails("ObjectId(507f1f77bcf86cd799439011)", "Invalid object ID"),
		fails(int64(507), "Invalid object ID"),
	})
	for _, arg := range []any{`[0-9]{6,}`, map[string]any{"pattern": `[0-9]{6,}`}} {
		runCases(t, "object_id", arg, []vcase{
			same("1234567"), fails("12345", "Invalid object ID"), fails("a1234567", "Invalid object ID"),
		})
	}
}

func TestRequiredAndNotEmpty(t *testing.T) {
	runCases(t, "required", nil, []vcase{
		fails(nil, "value is required"),
		same(""), same("x"), same(int64(0)), same(false), same([]string{}),
	})
	runCases(t, "not_empty", nil, []vcase{
		fails(nil, "must not be empty"),
		fails("", "must not be empty"),
		fails("   \t\n", "must not be empty"),
		fails("\u00a0\u3000", "must not be empty"),
		fails([]string{}, "must not be empty"),
		fails(json.RawMessage(" null "), "must not be empty"),
		fails(json.RawMessage("[ ]"), "must not be empty"),
		fails(json.RawMessage("{}"), "must not be empty"),
		fails(json.RawMessage(`""`), "must not be empty"),
		same("x"), same(" José "), same(int64(0)), same(false), same([]string{""}),
		same(json.RawMessage("[0]")), same(json.RawMessage(`{"a":1}`)), same(json.RawMessage("0")),
		same(time.Time{}), same(dec("0")),
	})
}

func TestMinMaxNumbers(t *testing.T) {
	runCases(t, "min", 3, []vcase{
		same(int64(3)), same(int64(4)), same(3.0), same(dec("3.000")), same("3"), same("1,000"), same(""),
		fails(int64(2), "must be at least 3"),
		fails(2.999, "must be at least 3"),
		fails(dec("2.99999999999999999999"), "must be at least 3"),
		fails("2.5", "must be at least 3"),
		fails("N/A", "must be a number"),
		fails("$5", "must be a number"),
		fails(math.NaN(), "must be a number"),
		fails(true, "must be a number"),
		fails(time.Now(), "must be a number"),
	})
	runCases(t, "max", 0.1, []vcase{
		same(0.1), same(int64(0)), same(dec("0.1")), same("0.10"),
		fails(0.1000000000000001, "must be at most 0.1"),
		fails(dec("0.10000000000000000001"), "must be at most 0.1"),
		fails(int64(1), "must be at most 0.1"),
	})
	runCases(t, "min", 2.5, []vcase{
		same(int64(3)), fails(int64(2), "must be at least 2.5"), same(2.5), fails(2.4999999, "must be at least 2.5"),
	})
	// 2^53+1 is not a float64: integers and decimals are compared exactly.
	runCases(t, "min", "9007199254740993", []vcase{
		same(int64(9007199254740993)), same(dec("9007199254740993")),
		fails(int64(9007199254740992), "must be at least 9007199254740993"),
		fails(float64(9007199254740992), "must be at least 9007199254740993"),
		fails(dec("9007199254740992.9"), "must be at least 9007199254740993"),
	})
	runCases(t, "max", "-9223372036854775809", []vcase{
		fails(int64(math.MinInt64), "must be at most -9223372036854775809"),
		same(-1e19),
	})
	runCases(t, "min", "1e30", []vcase{
		fails(int64(math.MaxInt64), "must be at least 1e30"), same(1e30), same(math.Inf(1)), fails(1e29, "must be at least 1e30"),
	})
	runCases(t, "max", uint64(math.MaxUint64), []vcase{same(int64(math.MaxInt64))})
	runCases(t, "min", -5, []vcase{same(int64(-5)), same("-4.9"), fails("-5.1", "must be at least -5"), fails(math.Inf(-1), "must be at least -5")})
}

func TestMinMaxTimes(t *testing.T) {
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	runCases(t, "min", "2024-01-01", []vcase{
		same(day), same(day.Add(time.Second)), same("2024-01-01"), same("2024-06-30T12:00:00Z"), same(""),
		fails(day.Add(-time.Nanosecond), "must be on or after 2024-01-01"),
		fails("2023-12-31 23:59:59", "must be on or after 2024-01-01"),
		fails("2024-01-01T00:30:00+01:00", "must be on or after 2024-01-01"),
		fails("soon", "must be a date or time"),
		fails(int64(20240101), "must be a date or time"),
	})
	// A date as max covers its whole day.
	runCases(t, "max", day, []vcase{
		same(day), same(day.Add(24*time.Hour - time.Nanosecond)), same("2024-01-01 23:59:59"),
		fails(day.Add(24*time.Hour), "must be on or before 2024-01-01"),
		fails("2024-01-02", "must be on or before 2024-01-01"),
	})
	runCases(t, "max", "2024-01-01T12:00:00Z", []vcase{
		same("2024-01-01T12:00:00Z"), same("2024-01-01T13:00:00+02:00"),
		fails("2024-01-01T12:00:01Z", "must be on or before 2024-01-01T12:00:00Z"),
	})
	runCases(t, "min", time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC), []vcase{
		same("2024-01-01 08:00:00"), fails("2024-01-01", "must be on or after 2024-01-01T08:00:00Z"),
	})
}

func TestLengths(t *testing.T) {
	runCases(t, "min_length", 3, []vcase{
		same("abc"), same("Zoë"), same("李小龙"), same([]string{"a", "b", "c"}), same(int64(100)),
		same(json.RawMessage(`[1,2,{"a":[3]}]`)), same(""), same([]string{}), same(json.RawMessage("[]")),
		fails("ab", "must be at least 3 characters"),
		fails("李小", "must be at least 3 characters"),
		fails([]string{"a", "b"}, "must have at least 3 items"),
		fails(json.RawMessage(`[1, 2]`), "must have at least 3 items"),
		fails(json.RawMessage(`{"a":1}`), "must be text or a list"),
		fails(int64(42), "must be at least 3 characters"),
		fails(time.Now(), "must be text or a list"),
	})
	runCases(t, "max_length", 1, []vcase{
		same("é"), same([]string{"a"}),
		fails("ab", "must be at most 1 character"),
		fails([]string{"a", "b"}, "must have at most 1 item"),
	})
	runCases(t, "length", 5, []vcase{
		same("12345"), same("Ünïcø"), same(int64(12345)),
		fails("1234", "must be exactly 5 characters"),
		fails("123456", "must be exactly 5 characters"),
		fails([]string{"a"}, "must have exactly 5 items"),
	})
	runCases(t, "max_length", 2.0, []vcase{same("ab"), fails("abc", "must be at most 2 characters")})
}

func TestRegex(t *testing.T) {
	runCases(t, "regex", "^[A-Z]", []vcase{
		same("Alice"), same(""), same([]string{"Ann", "Bob"}),
		fails("alice", "must match the pattern ^[A-Z]"),
		fails("Édouard", "must match the pattern ^[A-Z]"),
		fails(" Alice", "must match the pattern ^[A-Z]"),
		fails([]string{"Ann", "bob"}, "must match the pattern ^[A-Z]"),
	})
	runCases(t, "regex", map[string]any{"pattern": `^\d{3}$`}, []vcase{
		same("123"), same(int64(123)), fails(int64(1234), `must match the pattern ^\d{3}$`),
		fails(dec("1.5"), `must match the pattern ^\d{3}$`),
	})
	runCases(t, "regex", `\p{L}+`, []vcase{same("José"), same("x1"), fails("123", `must match the pattern \p{L}+`)})
}

func TestOneOf(t *testing.T) {
	runCases(t, "one_of", []any{"new", "open", "won"}, []vcase{
		same("new"), same("won"), same(""), same([]string{"new", "won"}),
		fails("New", "must be one of: new, open, won"),
		fails(" new", "must be one of: new, open, won"),
		fails("lost", "must be one of: new, open, won"),
		fails([]string{"new", "lost"}, "must be one of: new, open, won"),
		fails(int64(1), "must be one of: new, open, won"),
	})
	runCases(t, "one_of", map[string]any{"values": []any{"New", "Open", "Closed Won", "Ünïcø"}, "ignore_case": true}, []vcase{
		same("New"),
		{in: "new", want: "New"},
		{in: "CLOSED WON", want: "Closed Won"},
		{in: "ÜNÏCØ", want: "Ünïcø"},
		{in: []string{"open", "New"}, want: []string{"Open", "New"}},
		fails("closed", "must be one of: New, Open, Closed Won, Ünïcø"),
	})
	runCases(t, "one_of", map[string]any{"values": []any{"a", "B"}, "ignore_case": false}, []vcase{
		same("B"), fails("b", "must be one of: a, B"),
	})
	runCases(t, "one_of", []any{1, 2, 3.5, true}, []vcase{
		same(int64(1)), same("2"), same(3.5), same(dec("3.50")), same(true), same("true"),
		fails(int64(4), "must be one of: 1, 2, 3.5, true"),
		fails("1.0", "must be one of: 1, 2, 3.5, true"),
	})
	many := make([]any, 25)
	for i := range many {
		many[i] = string(rune('a' + i))
	}
	runCases(t, "one_of", many, []vcase{same("y"), fails("z", "must be one of: a, b, c, d, e, f, g, h, i, j (and 15 more)")})
}

func TestDigits(t *testing.T) {
	runCases(t, "digits", nil, []vcase{
		same("0123456789"), same(int64(0)), same(int64(42)), same(""), same([]string{"1", "22"}),
		fails("+1 (555) 123-4567", "must contain only digits"),
		fails("555.123.4567", "must contain only digits"),
		fails("12 34", "must contain only digits"),
		fails("١٢٣", "must contain only digits"), // Arabic-Indic digits
		fails("-5", "must contain only digits"),
		fails(int64(-5), "must contain only digits"),
		fails(1.0, "must contain only digits"),
		fails("N/A", "must contain only digits"),
	})
}

// TestPhoneFastPath holds the table look-up for "+" numbers to
// libphonenumber: whatever it accepts, Parse + IsPossibleNumberWithReason
// accepts too, and it decides most well-formed E.164 numbers.
func TestPhoneFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seps := []string{"", "", " ", "-", ".", "(", ")"}
	decided := 0
	const n = 20000
	for range n {
		var b strings.Builder
		b.WriteByte('+')
		for range 4 + rng.IntN(14) {
			b.WriteString(seps[rng.IntN(len(seps))])
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		s := b.String()
		if !possibleInternational(s) {
			continue
		}
		decided++
		num, err := phonenumbers.Parse(s, "US")
		if err != nil || phonenumbers.IsPossibleNumberWithReason(num) != phonenumbers.IS_POSSIBLE {
			t.Fatalf("fast path accepted %q; Parse: %v, %v", s, num, err)
		}
	}
	if decided < n/10 {
		t.Errorf("fast path decided only %d of %d numbers", decided, n)
	}
	for _, s := range []string{"+15551234567", "+1 (555) 123-4567", "+44 20 7946 0958", "+49 30 901820", "+86 138 0013 8000"} {
		if !possibleInternational(s) {
			t.Errorf("fast path left %q to Parse", s)
		}
	}
}

// TestPhoneAreaCodeMustExist: +1 numbers whose area code starts with 0 or
// 1 are invalid, by both the fast path and Parse.
func TestPhoneAreaCodeMustExist(t *testing.T) {
	v, err := newPhone(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := v.(phoneValidator)
	for in, ok := range map[string]bool{
		"030-555-9000": false, "000-000-0000": false, "+1 055 555 0100": false, "+10305559000": false,
		"+1 415 555 2671": true, "(415) 555-2671": true,
	} {
		if _, err := p.checkString(in); (err == nil) != ok {
			t.Errorf("phone %q: err %v, want valid=%v", in, err, ok)
		}
	}
}
