package pipeline

import (
	"testing"
	"time"
)

// TestParseWatermarkTimeRelative: incremental.start may be a time before
// now (-30d, -12h); absolute forms still parse, nonsense does not.
func TestParseWatermarkTimeRelative(t *testing.T) {
	now := time.Now().UTC()
	cases := []struct {
		in   string
		ago  time.Duration // 0: absolute
		want string
		bad  bool
	}{
		{in: "-30d", ago: 30 * 24 * time.Hour},
		{in: "-12h", ago: 12 * time.Hour},
		{in: "-90m", ago: 90 * time.Minute},
		{in: "2024-05-01", want: "2024-05-01T00:00:00Z"},
		{in: "2024-05-01T10:00:00+02:00", want: "2024-05-01T08:00:00Z"},
		{in: "-", bad: true},
		{in: "-0d", bad: true},
		{in: "-x", bad: true},
		{in: "30d", bad: true},
	}
	for _, tc := range cases {
		got, err := ParseWatermarkTime(tc.in)
		switch {
		case tc.bad:
			if err == nil {
				t.Errorf("%q: parsed as %v, want an error", tc.in, got)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.ago > 0:
			// got lies between now-ago and the moment after the call.
			if got.Before(now.Add(-tc.ago)) || got.After(time.Now().UTC().Add(-tc.ago)) {
				t.Errorf("%q: %v, want %v before %v", tc.in, got, tc.ago, now)
			}
		case got.Format(time.RFC3339) != tc.want:
			t.Errorf("%q: %v, want %s", tc.in, got, tc.want)
		}
	}
}
