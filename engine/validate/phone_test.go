package validate

import (
	"testing"

	"github.com/nyaruka/phonenumbers"

	"github.com/crmsync/crmsync/engine/convert"
)

// TestPhoneFastPathsAgree: the phone validator's fast paths (+ numbers by
// table, North American national forms by convert.NANPFast) accept and
// reject exactly what phonenumbers does, in a +1 region and another.
func TestPhoneFastPathsAgree(t *testing.T) {
	inputs := []string{
		"(555) 123-4567", "555-123-4567", "555.123.4567", "5551234567", "+1 555 123 4567", "1-555-123-4567",
		"1 (415) 555-2671", "415/555/2671", "415\u00a0555\u00a02671", "(415) 555-2671 x12", "415-555-2671 ext. 9",
		"+1 415 555 2671 Extension 12", "030-555-9000", "000-000-0000", "1-100-555-2671", "+1 055 555 0100",
		"555-1234", "55512345678", "+15551234567", "+44 20 7946 0958", "020 7946 0958", "+49 30 901820",
		"1-800-FLOWERS", "(555) 123-4567a", "", " ", "+", "++1 555 123 4567", "011 1 415 555 2671",
	}
	for _, region := range []string{"US", "CA", "GB"} {
		v, err := newPhone(region)
		if err != nil {
			t.Fatal(err)
		}
		p := v.(phoneValidator)
		for _, s := range inputs {
			_, err := p.checkString(s)
			num, perr := phonenumbers.Parse(s, region)
			want := perr == nil && phonenumbers.IsPossibleNumberWithReason(num) == phonenumbers.IS_POSSIBLE && convert.NANPPlausible(num)
			if (err == nil) != want {
				t.Errorf("region %s, %q: validator says %v, phonenumbers possible=%v", region, s, err, want)
			}
		}
	}
}
