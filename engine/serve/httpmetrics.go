package serve

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics count the requests syncs send to their sources, by host
// (host[:port] of the URL: no path, no query, so no secret) and status
// class, and the time they wait for rate limits.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rateWait *prometheus.CounterVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	h := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmsync_http_requests_total",
			Help: "HTTP requests sent to sources, by host and status class (2xx, 3xx, 4xx, 5xx; error: no response, such as a refused connection or a timeout).",
		}, []string{"host", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "crmsync_http_request_duration_seconds",
			Help:    "Time from sending an HTTP request to a source until its response headers arrived, by host.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"host"}),
		rateWait: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmsync_rate_limit_wait_seconds_total",
			Help: "Time syncs waited before sending requests: rate_limit budgets, and servers' Retry-After or rate-limit resets.",
		}, entityLabels),
	}
	reg.MustRegister(h.requests, h.duration, h.rateWait)
	return h
}

// wrap is a runner.Options WrapTransport.
func (h *httpMetrics) wrap(next http.RoundTripper) http.RoundTripper {
	return countingTransport{next: next, m: h}
}

type countingTransport struct {
	next http.RoundTripper
	m    *httpMetrics
}

func (c countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.next.RoundTrip(req)
	host := req.URL.Host
	c.m.duration.WithLabelValues(host).Observe(time.Since(start).Seconds())
	c.m.requests.WithLabelValues(host, statusClass(resp, err)).Inc()
	return resp, err
}

func statusClass(resp *http.Response, err error) string {
	if err != nil || resp == nil {
		return "error"
	}
	switch c := resp.StatusCode; {
	case c < 200:
		return "1xx"
	case c < 300:
		return "2xx"
	case c < 400:
		return "3xx"
	case c < 500:
		return "4xx"
	}
	return "5xx"
}
