// Package schedule reads the schedule: setting of a pipeline: "every 15m"
// intervals or five-field cron expressions, optionally with a time zone
// ("CRON_TZ=America/New_York 0 * * * *").
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule tells when the next run is due.
type Schedule interface {
	Next(after time.Time) time.Time
}

type every time.Duration

func (e every) Next(after time.Time) time.Time { return after.Add(time.Duration(e)) }

var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse reads a schedule.
func Parse(s string) (Schedule, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("write an interval such as every 15m or every 1h30m")
		}
		if d < time.Second {
			return nil, fmt.Errorf("the interval must be at least 1s")
		}
		return every(d), nil
	}
	spec := s
	if tz, ok := strings.CutPrefix(s, "CRON_TZ="); ok {
		zone, _, _ := strings.Cut(tz, " ")
		if _, err := time.LoadLocation(zone); err != nil {
			return nil, fmt.Errorf("unknown time zone %q", zone)
		}
	} else if tz, ok := strings.CutPrefix(s, "TZ="); ok {
		zone, _, _ := strings.Cut(tz, " ")
		if _, err := time.LoadLocation(zone); err != nil {
			return nil, fmt.Errorf("unknown time zone %q", zone)
		}
	}
	sch, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("not an interval (every 15m) or a five-field cron expression: %v", err)
	}
	return sch, nil
}
