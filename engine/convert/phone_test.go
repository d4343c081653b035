package convert

import (
	"encoding/csv"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/tidwall/gjson"

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

// phoneVariants writes n North American-looking numbers (and near
// misses) in the styles CRMs hold them: national and +1 forms with every
// common separator, parentheses, a leading 1, 9 to 12 digits, area codes
// and exchanges starting with every digit, extensions, letters, other
// countries' prefixes, stray characters, doubled and missing
// punctuation.
func phoneVariants(rng *rand.Rand, n int) []string {
	prefixes := []string{"", "", "", "1", "1-", "1 ", "+1", "+1 ", "+1-", "+1.", "+", "+ 1 ", "001 ", "011 1 ", "+44 ", "+52 1 ", "0", "(1) "}
	seps := []string{"", " ", "-", ".", "/", "  ", " - ", "--", "\t", "\u00a0"}
	suffixes := []string{"", "", "", "", " x123", "x7", " X 12", " ext. 45", " Ext 1234", " EXT.9", " extension 321", "ext123456", " x1234567", " x", " ext. 45 ", ";ext=9", " #12", " ", ")", "a", " (home)"}
	out := make([]string, 0, n)
	for len(out) < n {
		digits := make([]byte, 10)
		for j := range digits {
			digits[j] = byte('0' + rng.IntN(10))
		}
		if rng.IntN(3) > 0 { // mostly plausible area codes
			digits[0] = byte('2' + rng.IntN(8))
		}
		switch rng.IntN(12) { // other lengths
		case 0:
			digits = digits[:7+rng.IntN(3)]
		case 1:
			digits = append(digits, byte('0'+rng.IntN(10)))
		}
		sep := seps[rng.IntN(len(seps))]
		var b strings.Builder
		b.WriteString(prefixes[rng.IntN(len(prefixes))])
		paren := len(digits) >= 10 && rng.IntN(3) == 0
		for j, d := range digits {
			if paren && j == 0 {
				b.WriteByte('(')
			}
			b.WriteByte(d)
			if paren && j == 2 {
				b.WriteByte(')')
				if rng.IntN(2) == 0 {
					b.WriteByte(' ')
					continue
				}
			}
			if (j == 2 || j == 5) && j < len(digits)-1 {
				b.WriteString(sep)
			}
		}
		b.WriteString(suffixes[rng.IntN(len(suffixes))])
		v := b.String()
		if rng.IntN(10) == 0 && len(v) > 1 { // a mutation: drop, double or replace a byte
			i := rng.IntN(len(v))
			switch rng.IntN(3) {
			case 0:
				v = v[:i] + v[i+1:]
			case 1:
				v = v[:i] + v[i:i+1] + v[i:]
			default:
				v = v[:i] + string("0123456789+-() .xA"[rng.IntN(18)]) + v[i+1:]
			}
		}
		if rng.IntN(20) == 0 {
			v = " " + v + " "
		}
		out = append(out, v)
	}
	return out
}

// fixturePhones are the phone values of the repository's fixtures and
// sample files (every JSON string under a key naming a phone, every
// column of a CSV whose header names one).
func fixturePhones(t *testing.T) []string {
	var out []string
	key := regexp.MustCompile(`(?i)phone|mobile`)
	for _, root := range []string{"../..", "/work/shared/testdata"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
				if d != nil && d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			switch filepath.Ext(path) {
			case ".json":
				b, err := os.ReadFile(path)
				if err != nil || !gjson.ValidBytes(b) {
					return nil
				}
				var walk func(k string, v gjson.Result)
				walk = func(k string, v gjson.Result) {
					switch {
					case v.IsObject() || v.IsArray():
						v.ForEach(func(kk, vv gjson.Result) bool {
							if kk.Exists() {
								walk(kk.String(), vv)
							} else {
								walk(k, vv)
							}
							return true
						})
					case v.Type == gjson.String && key.MatchString(k):
						out = append(out, v.Str)
					}
				}
				walk("", gjson.ParseBytes(b))
			case ".csv":
				f, err := os.Open(path)
				if err != nil {
					return nil
				}
				defer f.Close()
				r := csv.NewReader(f)
				r.FieldsPerRecord = -1
				r.LazyQuotes = true
				head, err := r.Read()
				if err != nil {
					return nil
				}
				var cols []int
				for i, h := range head {
					if key.MatchString(h) {
						cols = append(cols, i)
					}
				}
				for len(cols) > 0 {
					row, err := r.Read()
					if err != nil {
						break
					}
					for _, i := range cols {
						if i < len(row) {
							out = append(out, row[i])
						}
					}
				}
			}
			return nil
		})
	}
	return out
}

// TestNANPFastMatchesPhonenumbers converts fixture phones and generated
// variants (200,000, or 20,000 with -short) with the phone type (its fast
// path, then phonenumbers) and with phonenumbers alone, in North American
// regions and others, and wants the same E.164 text and the same
// accept/reject for each.
func TestNANPFastMatchesPhonenumbers(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	fixtures := fixturePhones(t)
	if len(fixtures) < 50 {
		t.Fatalf("only %d fixture phones found", len(fixtures))
	}
	inputs := append(fixtures, phoneVariants(rand.New(rand.NewPCG(1, 2)), n)...)
	for _, region := range []string{"US", "CA", "JM", "PR", "GB", "DE"} {
		c, err := New(Spec{Type: value.Phone, Region: region})
		if err != nil {
			t.Fatal(err)
		}
		m := len(inputs)
		if region != "US" {
			m = len(fixtures) + n/20 // the other regions: a sample
		}
		fast, accepted := 0, 0
		for _, s := range inputs[:m] {
			got, err := c.phone(s)
			want, wantOK := slowPhone(s, region)
			if (err == nil) != wantOK || err == nil && got != want {
				t.Fatalf("region %s, %q: phone type gives %v, %v; phonenumbers %q, %v", region, s, got, err, want, wantOK)
			}
			if _, ok := NANPFast(s, c.nanp); ok {
				fast++
			}
			if wantOK {
				accepted++
			}
		}
		t.Logf("region %s: %d inputs, %d accepted, %d by the fast path", region, m, accepted, fast)
		if region == "US" && fast < m/5 {
			t.Fatalf("only %d of %d inputs took the fast path; the generator no longer exercises it", fast, m)
		}
	}
}

// FuzzNANPFast: whatever the fast path accepts, phonenumbers reads as
// the same number, in a +1 region (national forms too) and in another
// (+1 forms only).
func FuzzNANPFast(f *testing.F) {
	for _, s := range []string{"+1 (555) 123-4567", "555.123.4567", "14155552671", "+4155552671", "(415)555-2671", "1-555-123-4567", "555-123-4567 x12", "+1 555 123 4567 ext. 9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, region := range []string{"US", "GB"} {
			got, ok := NANPFast(s, region == "US")
			if !ok {
				continue
			}
			if want, wantOK := slowPhone(s, region); !wantOK || got != want {
				t.Fatalf("NANPFast(%q) in %s = %q; phonenumbers = %q, %v", s, region, got, want, wantOK)
			}
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
