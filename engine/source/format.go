package source

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Watermark formats, as written in incremental.format; any Go time
// layout (one that holds the year 2006) is accepted too.
var WatermarkFormats = []string{"rfc3339", "epoch_s", "epoch_ms", "date", "datetime", "http-date"}

// CheckFormat reports whether a watermark format is known.
func CheckFormat(format string) error {
	if format == "" || slices.Contains(WatermarkFormats, format) || strings.Contains(format, "2006") {
		return nil
	}
	return fmt.Errorf("unknown watermark format %q: want one of %s, or a Go time layout such as 2006-01-02T15:04:05-07:00", format, strings.Join(WatermarkFormats, ", "))
}

// FormatTime writes t as a watermark format expects: rfc3339 (the
// default), epoch_s, epoch_ms, date (2006-01-02) or datetime
// (2006-01-02 15:04:05, for SQL and naive APIs). Times are UTC.
func FormatTime(t time.Time, format string) (string, error) {
	t = t.UTC()
	switch format {
	case "", "rfc3339":
		return t.Format(time.RFC3339Nano), nil
	case "epoch_s":
		return strconv.FormatInt(t.Unix(), 10), nil
	case "epoch_ms":
		return strconv.FormatInt(t.UnixMilli(), 10), nil
	case "date":
		return t.Format("2006-01-02"), nil
	case "datetime":
		return t.Format("2006-01-02 15:04:05"), nil
	case "http-date":
		return t.Format(http.TimeFormat), nil
	}
	if strings.Contains(format, "2006") {
		return t.Format(format), nil
	}
	return "", fmt.Errorf("unknown watermark format %q", format)
}
