package validate

import (
	"errors"
	"time"
)

var (
	errDate     = errors.New("Invalid date")
	errDatetime = errors.New("Invalid datetime")
)

func init() {
	for _, d := range []struct {
		name, doc              string
		err                    error
		passes, keeps, message string
	}{
		{"date", "a date: a time value, or text as 2006-01-02, 2006-01-02 15:04:05 or RFC 3339; impossible dates fail", errDate, "a date/time value, or text as `2006-01-02`, `2006-01-02 15:04:05`, `2006-01-02T15:04:05` or RFC 3339; impossible dates (`2023-02-29`, `2024-04-31`) fail; `01/15/2024` fails", "the trimmed text", "`Invalid date`"},
		{"datetime", "a date and time: a time value, or text as RFC 3339, 2006-01-02T15:04:05, 2006-01-02 15:04:05 or 2006-01-02; impossible dates fail", errDatetime, "same as `date`", "the trimmed text", "`Invalid datetime`"},
	} {
		err := d.err
		Register(Info{Name: d.name, Doc: d.doc, Passes: d.passes, Keeps: d.keeps, Message: d.message, Arg: "none"}, func(arg any) (Validator, error) {
			if e := noArg(arg); e != nil {
				return nil, e
			}
			return timeValidator{err: err, check: trimmed(func(s string) (string, error) {
				if _, ok := parseTime(s); !ok {
					return s, err
				}
				return s, nil
			})}, nil
		})
	}
}

type timeValidator struct {
	err   error
	check checkFunc
}

var _ Validator = timeValidator{}

func (t timeValidator) Validate(v any) (any, error) {
	if _, ok := v.(time.Time); ok {
		return v, nil
	}
	return eachString(v, t.check, t.err)
}

// parseTime reads the date and datetime texts validators accept. It picks
// one layout by shape instead of trying each in turn, because every failed
// time.Parse allocates its error. Naive times are read as UTC.
func parseTime(s string) (time.Time, bool) {
	var layout string
	switch {
	case len(s) == 10:
		layout = time.DateOnly
	case len(s) < 19:
		return time.Time{}, false
	case s[10] == 'T' && hasZone(s):
		layout = time.RFC3339
	case s[10] == 'T':
		layout = "2006-01-02T15:04:05"
	case s[10] == ' ' && hasZone(s):
		layout = "2006-01-02 15:04:05Z07:00"
	case s[10] == ' ':
		layout = time.DateTime
	default:
		return time.Time{}, false
	}
	t, err := time.Parse(layout, s)
	return t, err == nil
}

// hasZone reports whether a datetime text ends in Z or a ±hh:mm offset.
func hasZone(s string) bool {
	if c := s[len(s)-1]; c == 'Z' || c == 'z' {
		return true
	}
	for i := 19; i < len(s); i++ {
		if s[i] == '+' || s[i] == '-' {
			return true
		}
	}
	return false
}
