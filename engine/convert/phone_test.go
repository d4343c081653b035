package convert

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/crmsync/crmsync/engine/value"
)

// slowPhone is the phonenumbers-only path that nanpFast must agree with.
func slowPhone(s, region string) (string, bool) {
	n, err := phonenumbers.Parse(s, region)
	if err != nil || phonenumbers.IsPossibleNumberWithReason(n) != phonenumbers.IS_POSSIBLE || !NANPPlausible(n) {
		return "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), true
}

// TestNANPFastMatchesPhonenumbers writes random North American-looking
// numbers in random styles and checks that whenever the fast path answers,
// phonenumbers gives the same answer.
func TestNANPFastMatchesPhonenumbers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seps := []string{"", " ", "-", ".", "/", "  "}
	fast := 0
	for i := 0; i < 3000; i++ {
		n := 9 + rng.IntN(4) // 9..12 digits
		digits := make([]byte, n)
		for j := range digits {
			digits[j] = byte('0' + rng.IntN(10))
		}
		if rng.IntN(2) == 0 && n == 11 {
			digits[0] = '1'
		}
		var b strings.Builder
		if rng.IntN(4) == 0 {
			b.WriteByte('+')
		}
		sep := seps[rng.IntN(len(seps))]
		paren := rng.IntN(3) == 0
		for j, d := range digits {
			if paren && j == n-10 {
				b.WriteByte('(')
			}
			b.WriteByte(d)
			if paren && j == n-8 {
				b.WriteByte(')')
			}
			if j == n-8 || j == n-5 || (n > 10 && j == n-11) {
				b.WriteString(sep)
			}
		}
		s := b.String()
		for _, region := range []string{"US", "CA"} {
			got, ok := nanpFast(s)
			if !ok {
				continue
			}
			fast++
			want, wantOK := slowPhone(s, region)
			if !wantOK || got != want {
				t.Fatalf("nanpFast(%q) = %q; phonenumbers (region %s) = %q, %v", s, got, region, want, wantOK)
			}
		}
	}
	if fast < 500 {
		t.Fatalf("only %d inputs took the fast path; the generator no longer exercises it", fast)
	}
}

func FuzzNANPFast(f *testing.F) {
	for _, s := range []string{"+1 (555) 123-4567", "555.123.4567", "14155552671", "+4155552671", "(415)555-2671"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := nanpFast(s)
		if !ok {
			return
		}
		if want, wantOK := slowPhone(s, "US"); !wantOK || got != want {
			t.Fatalf("nanpFast(%q) = %q; phonenumbers = %q, %v", s, got, want, wantOK)
		}
	})
}

// TestPhonesThatCannotExist: North American numbers whose area code
// starts with 0 or 1 pass libphonenumber's length check but
// cannot exist; they are not stored as E.164. Real numbers still are.
func TestPhonesThatCannotExist(t *testing.T) {
	c, err := New(Spec{Type: value.Phone})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in, want string // want "" for an error
	}{
		{"030-555-9000", ""},
		{"000-000-0000", ""},
		{"1-100-555-2671", ""},
		{"+1 055 555 0100", ""},
		{"+1 555 123 4567", "+15551234567"}, // the exchange is not judged
		{"(415) 555-2671", "+14155552671"},
		{"+1 212 555 0100", "+12125550100"},
		{"+44 20 7946 0958", "+442079460958"},
		{"+49 30 901820", "+4930901820"},
	} {
		got, err := c.phone(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("phone(%q) = %v, want an error: no such number can exist", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("phone(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}
