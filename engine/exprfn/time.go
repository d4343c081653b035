package exprfn

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/engine/convert"
)

func init() {
	register("parse_datetime", parseDatetimeFn,
		new(func(any) time.Time), new(func(any, string) time.Time), new(func(any, string, string) time.Time))
	register("format_datetime", formatDatetimeFn, new(func(any, string) any), new(func(any, string, string) any))
	register("date_trunc", dateTruncFn, new(func(string, any) time.Time), new(func(string, any, string) time.Time))
}

var zones sync.Map // name → *time.Location; LoadLocation reads tzdata each call

func zone(fn, name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%s: unknown time zone %q", fn, name)
	}
	zones.Store(name, l)
	return l, nil
}

// toTime reads a time argument: a time.Time, or text or an epoch number
// read by convert.ParseTime. isNil is true for nil and blank text.
func toTime(fn string, v any, layouts []string, loc *time.Location) (t time.Time, isNil bool, err error) {
	if tm, ok := v.(time.Time); ok {
		return tm.UTC(), false, nil
	}
	s, isNil, err := textArg(fn, v)
	if isNil || err != nil {
		return time.Time{}, isNil, err
	}
	if strings.TrimSpace(s) == "" {
		return time.Time{}, true, nil
	}
	t, err = convert.ParseTime(s, layouts, loc)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s: %w", fn, err)
	}
	return t, false, nil
}

// parseDatetimeFn: parse_datetime(value [, layout [, zone]]). The layout is
// a Go layout tried before the built-in formats; zone applies to times
// written without one.
func parseDatetimeFn(args ...any) (any, error) {
	var layouts []string
	loc := time.UTC
	if len(args) >= 2 {
		l, err := stringArg("parse_datetime", args[1])
		if err != nil {
			return nil, err
		}
		if l != "" {
			layouts = []string{l}
		}
	}
	if len(args) == 3 {
		name, err := stringArg("parse_datetime", args[2])
		if err != nil {
			return nil, err
		}
		if loc, err = zone("parse_datetime", name); err != nil {
			return nil, err
		}
	}
	t, isNil, err := toTime("parse_datetime", args[0], layouts, loc)
	if isNil || err != nil {
		return nil, err
	}
	return t, nil
}

// formatDatetimeFn: format_datetime(time, layout [, zone]). layout is a Go
// layout or one of rfc3339, date, datetime, epoch_s, epoch_ms.
func formatDatetimeFn(args ...any) (any, error) {
	layout, err := stringArg("format_datetime", args[1])
	if err != nil {
		return nil, err
	}
	loc := time.UTC
	if len(args) == 3 {
		name, err := stringArg("format_datetime", args[2])
		if err != nil {
			return nil, err
		}
		if loc, err = zone("format_datetime", name); err != nil {
			return nil, err
		}
	}
	t, isNil, err := toTime("format_datetime", args[0], nil, nil)
	if isNil || err != nil {
		return nil, err
	}
	t = t.In(loc)
	switch layout {
	case "rfc3339":
		return t.Format(time.RFC3339Nano), nil
	case "date":
		return t.Format(time.DateOnly), nil
	case "datetime":
		return t.Format(time.DateTime), nil
	case "epoch_s":
		return strconv.FormatInt(t.Unix(), 10), nil
	case "epoch_ms":
		return strconv.FormatInt(t.UnixMilli(), 10), nil
	}
	return t.Format(layout), nil
}

// dateTruncFn: date_trunc(unit, time [, zone]) cuts a time down to the
// start of its year, quarter, month, week (Monday), day, hour, minute or
// second, with calendar boundaries taken in zone (default UTC). The
// result is in UTC.
func dateTruncFn(args ...any) (any, error) {
	unit, err := stringArg("date_trunc", args[0])
	if err != nil {
		return nil, err
	}
	loc := time.UTC
	if len(args) == 3 {
		name, err := stringArg("date_trunc", args[2])
		if err != nil {
			return nil, err
		}
		if loc, err = zone("date_trunc", name); err != nil {
			return nil, err
		}
	}
	t, isNil, err := toTime("date_trunc", args[1], nil, nil)
	if isNil || err != nil {
		return nil, err
	}
	t = t.In(loc)
	y, m, d := t.Date()
	switch strings.ToLower(unit) {
	case "year":
		t = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
	case "quarter":
		t = time.Date(y, (m-1)/3*3+1, 1, 0, 0, 0, 0, loc)
	case "month":
		t = time.Date(y, m, 1, 0, 0, 0, 0, loc)
	case "week":
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		t = time.Date(y, m, d-back, 0, 0, 0, 0, loc)
	case "day":
		t = time.Date(y, m, d, 0, 0, 0, 0, loc)
	case "hour":
		t = time.Date(y, m, d, t.Hour(), 0, 0, 0, loc)
	case "minute":
		t = time.Date(y, m, d, t.Hour(), t.Minute(), 0, 0, loc)
	case "second":
		t = time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, loc)
	default:
		return nil, fmt.Errorf("date_trunc: unknown unit %q (want year, quarter, month, week, day, hour, minute or second)", unit)
	}
	return t.UTC(), nil
}
