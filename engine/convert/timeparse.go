package convert

import (
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// epochMillisFrom is where an epoch number stops being seconds and starts
// being milliseconds: 1e11 seconds is the year 5138, 1e11 milliseconds is
// March 1973. Sources such as HubSpot send both kinds in one payload.
const epochMillisFrom = 1e11

// ParseTime reads a point in time and returns it in UTC. It tries, in
// order: the given Go layouts; an epoch number (seconds, or milliseconds
// when |n| >= 1e11, fraction allowed); ISO 8601 / RFC 3339 dates and times
// ("2024-01-02", "2024-01-02T03:04:05Z", "2024-01-02 03:04:05.123",
// "2024-01-02T03:04:05+0200", "2024-01-02 03:04:05 UTC"). Times without a
// zone are read in loc (nil means UTC). A date that does not exist, such
// as 2024-02-30, is an error, never rolled over into March.
func ParseTime(s string, layouts []string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errDatetime
	}
	impossible := false
	for _, l := range layouts {
		t, err := time.ParseInLocation(l, s, loc)
		if err == nil {
			return inRange(t)
		}
		if pe, ok := err.(*time.ParseError); ok && strings.HasSuffix(pe.Message, "out of range") {
			impossible = true
		}
	}
	if isEpochText(s) {
		return epoch(s)
	}
	t, err := parseISO(s, loc)
	if err != nil && impossible {
		return time.Time{}, errImpossible
	}
	return t, err
}

// isZeroDate reports MySQL's "no date": 0000-00-00, 0000-00-00 00:00:00.
func isZeroDate(s string) bool {
	if len(s) < 10 || s[:10] != "0000-00-00" {
		return false
	}
	for i := 10; i < len(s); i++ {
		if c := s[i]; c != '0' && c != ':' && c != ' ' && c != 'T' && c != '.' {
			return false
		}
	}
	return true
}

func inRange(t time.Time) (time.Time, error) {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, errTimeRange
	}
	return t, nil
}

// isEpochText reports an optional '-' then digits, with at most one '.'.
func isEpochText(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0:
			dot = true
		default:
			return false
		}
	}
	return s != ""
}

// epoch reads Unix time written as a number: seconds, or milliseconds from
// 1e11 up (see epochMillisFrom).
func epoch(s string) (time.Time, error) {
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, errTimeRange
		}
		if n >= epochMillisFrom || n <= -epochMillisFrom {
			return inRange(time.UnixMilli(n))
		}
		return inRange(time.Unix(n, 0))
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return time.Time{}, errDatetime
	}
	if d.Abs().GreaterThanOrEqual(decimal.New(1, 11)) {
		d = d.Shift(-3)
	}
	if d.Abs().GreaterThan(decimal.New(1, 15)) {
		return time.Time{}, errTimeRange
	}
	sec := d.Floor()
	nsec := d.Sub(sec).Shift(9).IntPart()
	return inRange(time.Unix(sec.IntPart(), nsec))
}

// parseISO reads the ISO 8601 forms listed on ParseTime by hand: faster
// than trying time.Parse layouts one after another, and it tells an
// impossible date from a malformed one.
func parseISO(s string, loc *time.Location) (time.Time, error) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, errDatetime
	}
	year, ok1 := atoiN(s[0:4])
	month, ok2 := atoiN(s[5:7])
	day, ok3 := atoiN(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, errDatetime
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return time.Time{}, errImpossible
	}
	if len(s) == 10 {
		return inRange(time.Date(year, time.Month(month), day, 0, 0, 0, 0, loc))
	}
	if c := s[10]; c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, errDatetime
	}
	rest := s[11:]
	if len(rest) < 5 || rest[2] != ':' {
		return time.Time{}, errDatetime
	}
	hour, ok1 := atoiN(rest[0:2])
	minute, ok2 := atoiN(rest[3:5])
	if !ok1 || !ok2 {
		return time.Time{}, errDatetime
	}
	rest = rest[5:]
	sec, nsec := 0, 0
	if len(rest) >= 3 && rest[0] == ':' {
		var ok bool
		if sec, ok = atoiN(rest[1:3]); !ok {
			return time.Time{}, errDatetime
		}
		rest = rest[3:]
		if len(rest) > 1 && (rest[0] == '.' || rest[0] == ',') {
			i := 1
			for scale := 100000000; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
				nsec += int(rest[i]-'0') * scale
				scale /= 10
			}
			if i == 1 {
				return time.Time{}, errDatetime
			}
			rest = rest[i:]
		}
	}
	if hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, errImpossible
	}
	offset, hasZone, ok := parseZone(rest)
	if !ok {
		return time.Time{}, errDatetime
	}
	if !hasZone {
		return inRange(time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc))
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return inRange(t.Add(-time.Duration(offset) * time.Second))
}

// parseZone reads what may follow the time: nothing, "Z", "+02:00",
// "+0200", "+02", " UTC", " GMT" (one space allowed before the zone).
// offset is in seconds east of UTC.
func parseZone(s string) (offset int, hasZone, ok bool) {
	if s == "" {
		return 0, false, true
	}
	if s[0] == ' ' {
		s = s[1:]
	}
	switch s {
	case "Z", "z", "UTC", "GMT":
		return 0, true, true
	}
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, false, false
	}
	h, okH := atoiN(s[1:3])
	m, okM := 0, true
	switch len(s) {
	case 3:
	case 5:
		m, okM = atoiN(s[3:5])
	case 6:
		if s[3] != ':' {
			return 0, false, false
		}
		m, okM = atoiN(s[4:6])
	default:
		return 0, false, false
	}
	if !okH || !okM || h > 14 || m > 59 {
		return 0, false, false
	}
	offset = h*3600 + m*60
	if s[0] == '-' {
		offset = -offset
	}
	return offset, true, true
}

// atoiN reads a fixed-width run of ASCII digits.
func atoiN(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
