package githubsrc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

const (
	apiVersion = "2022-11-28"
	mediaJSON  = "application/vnd.github+json"
	mediaRaw   = "application/vnd.github.raw+json"
	// Files above this size come through the blob API, as GitHub asks.
	blobAbove = 1 << 20
	// How many times a spent rate limit is waited out for one request.
	maxRateWaits = 10
)

// client speaks GitHub's REST API: headers, rate limits, retries, and
// errors in plain words. It never puts the token in a message.
type client struct {
	*settings
	hc     *http.Client
	ua     string
	log    *slog.Logger
	redact func(string) string

	mu      sync.Mutex
	stats   source.Stats
	resetAt time.Time // the spent rate-limit window ends then
}

// entry is an item of a contents listing.
type entry struct {
	Name string `json:"name"`
	Path string `json:"path"`
	SHA  string `json:"sha"`
	Size int64  `json:"size"`
	Type string `json:"type"`
}

func (c *client) repoURL(rest string) string {
	return c.baseURL + "/repos/" + url.PathEscape(c.owner) + "/" + url.PathEscape(c.repo) + rest
}

func (c *client) contentsURL(p string) string {
	u := "/contents"
	if p != "" {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			segs[i] = url.PathEscape(s)
		}
		u += "/" + strings.Join(segs, "/")
	}
	if c.ref != "" {
		u += "?ref=" + url.QueryEscape(c.ref)
	}
	return c.repoURL(u)
}

// listDir lists a folder of the repository ("" is the root).
func (c *client) listDir(ctx context.Context, dir string) ([]entry, error) {
	resp, err := c.get(ctx, c.contentsURL(dir), mediaJSON, dir)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("github: listing %q: %w", dir, err)
	}
	var list []entry
	if err := json.Unmarshal(body, &list); err != nil {
		var one entry
		if json.Unmarshal(body, &one) == nil && one.Type != "" {
			return nil, fmt.Errorf("github: %q in repo %q is a %s, not a folder", dir, c.owner+"/"+c.repo, one.Type)
		}
		return nil, fmt.Errorf("github: listing %q: the answer is not a contents listing: %w", dir, err)
	}
	return list, nil
}

// download opens a file's raw bytes: the contents API up to 1 MB, the
// blob API (by sha) above.
func (c *client) download(ctx context.Context, e entry) (io.ReadCloser, error) {
	u := c.contentsURL(e.Path)
	if e.Size > blobAbove {
		u = c.repoURL("/git/blobs/" + url.PathEscape(e.SHA))
	}
	resp, err := c.get(ctx, u, mediaRaw, e.Path)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// get sends a GET and returns a 200 answer. It waits out a spent rate
// limit, retries 5xx answers and network errors with a growing pause,
// and turns other failures into plain errors about what (a repo path).
func (c *client) get(ctx context.Context, u, accept, what string) (*http.Response, error) {
	rateWaits := 0
	for attempt := 1; ; attempt++ {
		if err := c.waitReset(ctx); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("github: %w", err)
		}
		req.Header.Set("Accept", accept)
		req.Header.Set("X-GitHub-Api-Version", apiVersion)
		req.Header.Set("User-Agent", c.ua)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		c.count(func(s *source.Stats) { s.APICalls++ })
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if attempt < c.attempts {
				c.log.Warn("github: request failed; retrying", "path", what, "attempt", attempt, "error", c.redact(err.Error()))
				if err := c.pause(ctx, attempt); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("github: reading %q after %d attempts: %s", what, attempt, c.redact(err.Error()))
		}
		limited := c.noteRate(resp)
		switch {
		case resp.StatusCode == http.StatusOK:
			return resp, nil
		case limited && rateWaits < maxRateWaits:
			rateWaits++
			attempt--
			drain(resp)
			continue
		case resp.StatusCode >= 500 && attempt < c.attempts:
			drain(resp)
			c.log.Warn("github: server error; retrying", "path", what, "status", resp.StatusCode, "attempt", attempt)
			if err := c.pause(ctx, attempt); err != nil {
				return nil, err
			}
			continue
		}
		err = c.statusError(resp, what, attempt)
		drain(resp)
		return nil, err
	}
}

// noteRate reads the rate-limit headers. It reports whether the answer
// is a refusal for a spent limit (403 or 429), after which the request
// is sent again once the window resets.
func (c *client) noteRate(resp *http.Response) bool {
	h := resp.Header
	var until time.Time
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			until = time.Unix(reset, 0)
		} else {
			until = time.Now().Add(time.Minute)
		}
	}
	refused := resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusTooManyRequests
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && refused {
		until = time.Now().Add(time.Duration(secs) * time.Second) // a secondary limit
	}
	if until.IsZero() {
		return false
	}
	c.mu.Lock()
	c.resetAt = until
	c.mu.Unlock()
	return refused
}

// waitReset sleeps until a spent rate-limit window resets, or ctx ends.
func (c *client) waitReset(ctx context.Context) error {
	c.mu.Lock()
	until := c.resetAt
	c.resetAt = time.Time{}
	c.mu.Unlock()
	d := time.Until(until)
	if d <= 0 {
		return nil
	}
	c.log.Info("github: rate limit spent; waiting for its reset", "until", until.UTC().Format(time.RFC3339), "wait", d.Round(time.Second).String())
	t := time.NewTimer(d)
	defer t.Stop()
	start := time.Now()
	select {
	case <-ctx.Done():
		c.count(func(s *source.Stats) { s.RateLimitWait += time.Since(start) })
		return ctx.Err()
	case <-t.C:
		c.count(func(s *source.Stats) { s.RateLimitWait += time.Since(start) })
		return nil
	}
}

// pause waits before retry number attempt+1: initial, doubled each time, at most maxWait.
func (c *client) pause(ctx context.Context, attempt int) error {
	c.count(func(s *source.Stats) { s.Retries++ })
	d := c.initial << (attempt - 1)
	if d > c.maxWait || d <= 0 {
		d = c.maxWait
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// statusError explains a failed answer in plain words.
func (c *client) statusError(resp *http.Response, what string, attempts int) error {
	var body struct {
		Message string `json:"message"`
	}
	json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	msg := c.redact(body.Message)
	repo := c.owner + "/" + c.repo
	switch resp.StatusCode {
	case http.StatusNotFound:
		return c.notFound(what)
	case http.StatusUnauthorized:
		return errors.New("github: the token was refused (401): it is missing, expired or lacks the contents:read permission")
	case http.StatusForbidden:
		if msg == "" {
			msg = "the token lacks access to this repository"
		}
		return fmt.Errorf("github: access to repo %q was refused (403): %s", repo, msg)
	}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("github: reading %q: the server answered %d after %d attempts", what, resp.StatusCode, attempts)
	}
	return fmt.Errorf("github: reading %q: unexpected status %d: %s", what, resp.StatusCode, msg)
}

func (c *client) notFound(what string) error {
	ref := fmt.Sprintf("at ref %q", c.ref)
	if c.ref == "" {
		ref = "on the default branch"
	}
	return &NotFoundError{msg: fmt.Sprintf("github: repo %q path %q %s was not found: check the repo, path and ref (a private repo also answers 404 without a valid token)",
		c.owner+"/"+c.repo, what, ref)}
}

// NotFoundError is a repo, path or ref GitHub does not know (or hides).
type NotFoundError struct{ msg string }

func (e *NotFoundError) Error() string { return e.msg }

func (c *client) count(f func(*source.Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
