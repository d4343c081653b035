package httpsrc

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retryPolicy is the back-off of one source.
type retryPolicy struct {
	attempts     int // tries in all, at least 1
	initial, max time.Duration
}

// delay is the back-off before try attempt+1: initial·2^(attempt-1),
// capped at max, with jitter over its upper half so that readers that
// failed together do not come back together.
func (p retryPolicy) delay(attempt int) time.Duration {
	d := p.initial
	for i := 1; i < attempt && d < p.max; i++ {
		d *= 2
	}
	d = min(d, p.max)
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// retryableErr reports whether a transport or body-read error is worth
// another try: timeouts, resets, refused connections, truncated bodies.
func retryableErr(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE):
		return true
	}
	var stall *stallError
	if errors.As(err, &stall) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op)
}

// retryableStatus reports whether a status is worth another try.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusRequestTimeout:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500
}

// retryAfter reads Retry-After: seconds or an HTTP date. ok is false when
// the header is absent or unreadable.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// resetTime reads a rate-limit reset header: epoch seconds (GitHub),
// epoch milliseconds, seconds from now, or an HTTP date.
func resetTime(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		switch {
		case f >= 1e12:
			return time.UnixMilli(int64(f)), true
		case f >= 1e9:
			return time.Unix(int64(f), int64((f-float64(int64(f)))*1e9)), true
		}
		return now.Add(time.Duration(f * float64(time.Second))), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}
