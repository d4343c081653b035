package schedule

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 7, 30, 0, time.UTC)
	ny, _ := time.LoadLocation("America/New_York")
	cases := []struct {
		spec string
		next time.Time
		err  bool
	}{
		{"every 15m", at.Add(15 * time.Minute), false},
		{"every 1h30m", at.Add(90 * time.Minute), false},
		{"*/10 * * * *", time.Date(2024, 3, 1, 10, 10, 0, 0, time.UTC), false},
		{"0 6 * * 1-5", time.Date(2024, 3, 4, 6, 0, 0, 0, time.UTC), false},                  // Friday 10:07 → Monday 06:00
		{"CRON_TZ=America/New_York 0 6 * * *", time.Date(2024, 3, 1, 6, 0, 0, 0, ny), false}, // 10:07 UTC is 05:07 in New York
		{"@hourly", time.Date(2024, 3, 1, 11, 0, 0, 0, time.UTC), false},
		{"every fortnight", time.Time{}, true},
		{"every 10ms", time.Time{}, true},
		{"61 * * * *", time.Time{}, true},
		{"CRON_TZ=Mars/Olympus 0 6 * * *", time.Time{}, true},
		{"* * *", time.Time{}, true},
	}
	for _, c := range cases {
		s, err := Parse(c.spec)
		if (err != nil) != c.err {
			t.Errorf("%q: err = %v, want error %v", c.spec, err, c.err)
			continue
		}
		if err == nil && !s.Next(at).Equal(c.next) {
			t.Errorf("%q: next after %s = %s, want %s", c.spec, at, s.Next(at), c.next)
		}
	}
}
