package httpsrc

import (
	"bufio"
	"compress/flate"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"golang.org/x/oauth2"

	"github.com/crmsync/crmsync/engine/jsontext"
)

// response is one HTTP response, read in full.
type response struct {
	method string
	url    *url.URL
	status int
	header http.Header
	body   string
	// fromXML: body is the JSON of an XML body.
	fromXML bool
}

// authError marks a failure to sign a request (an oauth2 token fetch).
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// fetch gets one page with a 2xx status: it waits for the rate limits,
// retries what is worth retrying, and renews an oauth2 token on a 401.
func (r *reader) fetch(ctx context.Context, v *vars, c *call, page int) (*response, error) {
	return r.fetchStep(ctx, &r.o.req, v, c, step{page: page})
}

// fetchStep is fetch for any request of the entity: a page, or a step
// of an asynchronous job (its start or a poll).
func (r *reader) fetchStep(ctx context.Context, rs *requestSpec, v *vars, c *call, page step) (*response, error) {
	attempts := max(r.o.retry.attempts, 1)
	renewed := false
	for attempt := 1; ; attempt++ {
		if err := r.waitTurn(ctx); err != nil {
			return nil, fmt.Errorf("entity %q: %s: waiting for the rate limit: %w", r.o.entity, page, err)
		}
		res, req, err := r.once(ctx, rs, v, c)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("entity %q: %s: %w", r.o.entity, page, ctx.Err())
		}
		if req == nil {
			return nil, fmt.Errorf("entity %q: %s: building the request: %s", r.o.entity, page, r.red.text(err.Error()))
		}
		if res != nil {
			r.noteLimits(res)
		}
		if err == nil && res != nil {
			if xerr := r.xmlToJSON(res); xerr != nil && res.status >= 200 && res.status < 300 {
				return nil, r.pageErr(res, page, xerr.Error(), true)
			}
		}
		vd := r.judge(res, req, err, page, attempt, attempts, renewed)
		switch {
		case vd.renew:
			renewed = true
			r.auth.(renewer).renewToken(req)
			r.retries.Add(1)
			r.log.Warn("http request unauthorized; renewing the token and trying again",
				page.attr(), "method", req.Method, "url", r.red.url(req.URL))
			attempt--
			continue
		case vd.final != nil:
			return nil, vd.final
		case vd.done:
			return res, nil
		}
		reason, wait, hasWait := vd.reason, vd.wait, vd.hasWait
		if !vd.retry || attempt >= attempts {
			if res != nil && err == nil {
				return nil, r.statusErr(res, page, attempt)
			}
			e := &requestError{entity: r.o.entity, page: page, method: req.Method, url: r.red.url(req.URL),
				msg: fmt.Sprintf("%s (after %d %s)", reason, attempt, plural(attempt, "try", "tries")), err: err}
			if res != nil {
				e.status = res.status // the body was cut off
			}
			return nil, e
		}
		if !hasWait {
			wait = r.o.retry.delay(attempt)
			if rs := r.limitSpec(); res != nil && res.status == http.StatusTooManyRequests && rs.windowSet {
				wait = max(wait, rs.window) // a rolling window frees up no sooner
			}
		}
		r.retries.Add(1)
		r.log.Warn("http request failed; retrying", page.attr(), "reason", reason,
			"attempt", attempt, "attempts", attempts, "wait", wait.String(), "method", req.Method, "url", r.red.url(req.URL))
		if res != nil && res.status == http.StatusTooManyRequests {
			// The whole source is over its limit: hold every reader back,
			// and count the wait as rate-limit time.
			r.limitBucket().hold(time.Now().Add(wait))
			continue
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("entity %q: %s: %w", r.o.entity, page, err)
		}
	}
}

// verdict is what one attempt's answer means: the response is the page
// (done), the page failed for good (final), the token is to be renewed
// and the request sent again (renew), or the request may be tried again
// (retry, with its reason and, when the server said, how long to wait).
type verdict struct {
	done, retry, renew bool
	final              error
	reason             string
	wait               time.Duration
	hasWait            bool
}

// judge reads one attempt: a transport error, a 401 with a renewable
// token, a SOAP fault, a 2xx (its body checked: error_when), a status
// worth another try (429, 408, 5xx, retry.when), or any other status.
func (r *reader) judge(res *response, req *http.Request, err error, page step, attempt, attempts int, renewed bool) verdict {
	fault, clientFault, isFault := "", false, false
	if err == nil && res != nil && res.fromXML { // SOAP is XML: JSON bodies skip the look
		fault, clientFault, isFault = soapFault(res.body)
	}
	switch {
	case err != nil:
		retry := retryableErr(err)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			retry = retryableStatus(re.Response.StatusCode)
		}
		return verdict{retry: retry, reason: r.red.text(errText(err))}
	case res.status == http.StatusUnauthorized && !renewed && r.canRenew():
		return verdict{renew: true}
	case isFault && (clientFault || attempt >= attempts):
		// A SOAP fault, whatever the status: a client fault is not
		// retried (the same request fails the same way).
		if attempt > 1 {
			fault += fmt.Sprintf(" (after %d tries)", attempt)
		}
		return verdict{final: r.pageErr(res, page, fault, false)}
	case isFault:
		return verdict{retry: true, reason: fault}
	case res.status >= 200 && res.status < 300:
		rule, err := r.checkBody(res, page)
		if err != nil {
			return verdict{final: err}
		}
		if rule == nil {
			return verdict{done: true}
		}
		reason := fmt.Sprintf("the body says the request failed (error_when %q)", rule.src)
		if !rule.retry || attempt >= attempts {
			if attempt > 1 {
				reason += fmt.Sprintf(" (after %d tries)", attempt)
			}
			return verdict{final: r.pageErr(res, page, reason, true)}
		}
		return verdict{retry: true, reason: reason}
	case retryableStatus(res.status):
		wait, ok := retryAfter(res.header, time.Now())
		return verdict{retry: true, reason: "status " + strconv.Itoa(res.status), wait: wait, hasWait: ok}
	case r.retryWhen(res):
		wait, ok := retryAfter(res.header, time.Now())
		return verdict{retry: true, reason: "status " + strconv.Itoa(res.status) + " (retry.when)", wait: wait, hasWait: ok}
	}
	return verdict{final: r.statusErr(res, page, attempt)}
}

// checkBody checks a 2xx body: its depth, that it is JSON, and
// error_when. rule is the error_when expression that matched, if any.
func (r *reader) checkBody(res *response, page step) (*errorRule, error) {
	if deep, at := jsontext.TooDeep(res.body, r.o.maxDepth); deep {
		return nil, r.pageErr(res, page, fmt.Sprintf("the body nests arrays and objects more than %d levels deep (max_depth; at byte %d); not parsed", r.o.maxDepth, at), false)
	}
	if !gjson.Valid(res.body) {
		return nil, r.pageErr(res, page, "the body is not JSON", true)
	}
	w := r.o.errorWhen
	if w == nil {
		return nil, nil
	}
	rule, err := w.failed(res.status, res.header, res.body)
	if err != nil {
		return nil, r.pageErr(res, page, err.Error(), true)
	}
	return rule, nil
}

// once sends one request and reads its whole body under the timeout,
// the header timeout (until the status line and headers arrive) and the
// idle timeout (between two reads of the body). req is nil when the
// request could not be built.
func (r *reader) once(ctx context.Context, rs *requestSpec, v *vars, c *call) (*response, *http.Request, error) {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	ctx, cancel := context.WithTimeout(ctx, r.o.timeout)
	defer cancel()
	ctx = context.WithValue(ctx, redirectKey{}, &redirectPolicy{o: r.o, red: r.red, foreign: c.foreign})
	req, err := rs.build(ctx, v, c, r.ua)
	if err != nil {
		return nil, nil, err
	}
	if c.foreign {
		// A next link to an origin of allow_origins: no credentials.
		stripCredentials(req, r.o.secretParams)
	} else if err := r.auth.apply(ctx, req); err != nil {
		return nil, req, &authError{err}
	}
	r.red.remember(req.Header.Get("Authorization")) // a server may echo it back in an error
	if s, ok := r.auth.(*signedAuth); ok && !c.foreign {
		for _, v := range s.computed(req) {
			r.red.rememberWhole(v)
		}
	}
	span := r.startSpan(req) // after auth: its URL shows where the key went, redacted
	defer span.End()
	r.calls.Add(1)
	hdr := time.AfterFunc(r.o.headerTimeout, func() { stop(&stallError{"no response headers", r.o.headerTimeout, "header_timeout"}) })
	hr, err := r.client.Do(req)
	hdr.Stop()
	if err != nil {
		err = stalled(ctx, err)
		span.SetStatus(codes.Error, r.red.text(err.Error()))
		return nil, req, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", hr.StatusCode))
	defer hr.Body.Close()
	res := &response{method: req.Method, url: req.URL, status: hr.StatusCode, header: hr.Header}
	idle := &idleReader{rd: hr.Body, d: r.o.idleTimeout,
		t: time.AfterFunc(r.o.idleTimeout, func() { stop(&stallError{"no body bytes", r.o.idleTimeout, "idle_timeout"}) })}
	defer idle.t.Stop()
	hr.Body = idle
	body, err := decodeBody(hr)
	if err == nil {
		res.body, err = readAll(body, hr.ContentLength, r.lastBody.Load(), r.o.maxBody)
		r.lastBody.Store(int64(len(res.body)))
	}
	if err != nil {
		return res, req, fmt.Errorf("reading the body: %w", stalled(ctx, err))
	}
	return res, req, nil
}

// stallError is an attempt given up because the server went quiet: no
// headers within header_timeout, or no body bytes for idle_timeout. It is
// retried like any timeout.
type stallError struct {
	what    string
	d       time.Duration
	setting string
}

func (e *stallError) Error() string {
	return fmt.Sprintf("%s for %s (%s)", e.what, e.d, e.setting)
}

func (e *stallError) Timeout() bool { return true }

// stalled replaces err by the stall that cancelled the attempt, if one did.
func stalled(ctx context.Context, err error) error {
	var se *stallError
	if errors.As(context.Cause(ctx), &se) {
		return se
	}
	return err
}

// idleReader pushes the idle timer back on every read that brings bytes.
type idleReader struct {
	rd io.ReadCloser
	d  time.Duration
	t  *time.Timer
}

func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.rd.Read(p)
	if n > 0 {
		i.t.Reset(i.d)
	}
	return n, err
}

func (i *idleReader) Close() error { return i.rd.Close() }

// decodeBody undoes Content-Encoding: deflate (net/http undoes gzip). Some
// servers send raw deflate without the zlib wrapper; both are read.
func decodeBody(hr *http.Response) (io.Reader, error) {
	if !strings.EqualFold(strings.TrimSpace(hr.Header.Get("Content-Encoding")), "deflate") {
		return hr.Body, nil
	}
	br := bufio.NewReader(hr.Body)
	if h, err := br.Peek(2); err == nil && h[0]&0x0f == 8 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

func (r *reader) canRenew() bool { _, ok := r.auth.(renewer); return ok }

// waitTurn waits for the source's bucket, then the entity's.
func (r *reader) waitTurn(ctx context.Context) error {
	d, err := r.src.wait(ctx)
	if err == nil && r.ent != nil {
		var d2 time.Duration
		d2, err = r.ent.wait(ctx)
		d += d2
	}
	r.waitNs.Add(int64(d))
	return err
}

// limitBucket is the bucket a 429 holds back: the entity's own when it
// has one (an endpoint with its own limit), else the source's.
func (r *reader) limitBucket() *bucket {
	if r.ent != nil {
		return r.ent
	}
	return r.src
}

func (r *reader) limitSpec() *rateSpec {
	if r.o.entRate != nil {
		return r.o.entRate
	}
	return &r.o.srcRate
}

// noteLimits slows down before the server says 429: when a response says
// no calls remain, the bucket waits until the window resets.
func (r *reader) noteLimits(res *response) {
	check := func(rs *rateSpec, b *bucket) {
		if rs.remaining == "" || b == nil {
			return
		}
		v := strings.TrimSpace(res.header.Get(rs.remaining))
		left, err := strconv.ParseFloat(v, 64)
		if v == "" || err != nil || left > 0 {
			return
		}
		now := time.Now()
		until, ok := time.Time{}, false
		if rs.reset != "" {
			until, ok = resetTime(res.header.Get(rs.reset), now)
		}
		if !ok || !until.After(now) {
			until = now.Add(rs.window)
		}
		r.log.Info("rate limit reached; waiting for the window to reset",
			"header", rs.remaining, "wait", time.Until(until).Round(time.Millisecond).String())
		b.hold(until)
	}
	check(&r.o.srcRate, r.src)
	if r.o.entRate != nil {
		check(r.o.entRate, r.ent)
	}
}

// statusErr is the error of a response whose status is a failure.
func (r *reader) statusErr(res *response, page step, tries int) error {
	msg := "the server answered " + http.StatusText(res.status)
	if msg == "the server answered " {
		msg = "the server answered with an error status"
	}
	if m := serverMessage(res.body); m != "" {
		msg += fmt.Sprintf(": the server says %q", m)
	}
	if tries > 1 {
		msg += fmt.Sprintf(" (after %d tries)", tries)
	}
	e := r.pageErr(res, page, msg, true).(*requestError)
	return e
}

// errText is an error's message without the URL that net/http puts in
// front (it may hold secrets; the caller prints a redacted one).
func errText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// retryWhen reports whether retry.when says an error response that no
// other rule retries is worth another try (a throttling 400).
func (r *reader) retryWhen(res *response) bool {
	if r.o.retryWhen == nil {
		return false
	}
	rule, err := r.o.retryWhen.failed(res.status, res.header, res.body)
	return err == nil && rule != nil
}
