// Package crm is a small mock CRM that answers like HubSpot's v3 objects
// API: list with cursor paging, search with a GTE filter on the
// last-modified property, rate-limit headers, an occasional 429 and bearer
// auth. The quick start runs against it, and tests use it as a server.
package crm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Server.
type Options struct {
	// Token is the bearer token every request must carry.
	Token string
	// RateLimitEvery answers every n-th request with 429 and Retry-After
	// (0: never).
	RateLimitEvery int
	// RetryAfter is the Retry-After of those 429s (default 1s; written
	// in seconds, with a fraction when below one).
	RetryAfter time.Duration
	// Denied object types answer 403 with HubSpot's missing-scopes body.
	Denied []string
}

// Server serves Data over HTTP.
type Server struct {
	data  *Data
	o     Options
	count atomic.Int64

	mu  sync.Mutex
	log []string // method and path of each request, for tests
}

// New returns a server of data.
func New(data *Data, o Options) *Server {
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	return &Server{data: data, o: o}
}

// Default is the quick start's data set: 240 contacts, 40 companies and
// 120 deals from seed 42.
func Default() *Data { return Generate(42, 240, 40, 120) }

// Requests returns "METHOD /path" of every request served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

const prefix = "/crm/v3/objects/"

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.count.Add(1)
	s.mu.Lock()
	s.log = append(s.log, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.Header().Set("X-HubSpot-RateLimit-Daily", "250000")
	w.Header().Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.FormatInt(250000-n, 10))
	w.Header().Set("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
	w.Header().Set("X-HubSpot-RateLimit-Max", "100")
	w.Header().Set("X-HubSpot-RateLimit-Remaining", strconv.FormatInt(max(1, 99-n%100), 10))
	if r.Header.Get("Authorization") != "Bearer "+s.o.Token || s.o.Token == "" {
		s.fail(w, http.StatusUnauthorized, map[string]any{"status": "error",
			"message":  "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
			"category": "INVALID_AUTHENTICATION"})
		return
	}
	if k := s.o.RateLimitEvery; k > 0 && n%int64(k) == 0 {
		w.Header().Set("Retry-After", strconv.FormatFloat(s.o.RetryAfter.Seconds(), 'f', -1, 64))
		s.fail(w, http.StatusTooManyRequests, map[string]any{"status": "error",
			"message": "You have reached your secondly limit.", "errorType": "RATE_LIMIT", "policyName": "SECONDLY"})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	object, search := strings.CutSuffix(rest, "/search")
	list, known := s.data.Objects[object]
	switch {
	case !ok || strings.Contains(object, "/"):
		s.fail(w, http.StatusNotFound, map[string]any{"status": "error", "message": "Not Found", "category": "OBJECT_NOT_FOUND"})
	case !known:
		s.fail(w, http.StatusBadRequest, map[string]any{"status": "error",
			"message": "Unable to infer object type from: " + object, "category": "VALIDATION_ERROR"})
	case slices.Contains(s.o.Denied, object):
		s.fail(w, http.StatusForbidden, map[string]any{"status": "error",
			"message": "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
			"errors": []any{map[string]any{"message": "One or more of the following scopes are required.",
				"context": map[string]any{"requiredGranularScopes": []string{"crm.objects." + object + ".read"}}}},
			"category": "MISSING_SCOPES"})
	case search && r.Method == http.MethodPost:
		s.search(w, r, object, list)
	case !search && r.Method == http.MethodGet:
		s.list(w, r, list)
	default:
		s.fail(w, http.StatusMethodNotAllowed, map[string]any{"status": "error", "message": "Method Not Allowed"})
	}
}

func (s *Server) fail(w http.ResponseWriter, status int, body map[string]any) {
	body["correlationId"] = "00000000-0000-4000-8000-" + fmt.Sprintf("%012d", s.count.Load())
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// list is GET /crm/v3/objects/{object}?limit=&after=: records in id
// order, after is the position of the next one.
func (s *Server) list(w http.ResponseWriter, r *http.Request, all []*Object) {
	q := r.URL.Query()
	limit, err := bounded(q.Get("limit"), 10, 100)
	if err != nil {
		s.fail(w, http.StatusBadRequest, map[string]any{"status": "error", "message": err.Error(), "category": "VALIDATION_ERROR"})
		return
	}
	byID := slices.Clone(all)
	slices.SortFunc(byID, func(a, b *Object) int {
		if idLess(a.ID, b.ID) {
			return -1
		}
		return 1
	})
	from, _ := strconv.Atoi(q.Get("after"))
	from = min(max(from, 0), len(byID))
	to := min(from+limit, len(byID))
	out := map[string]any{"results": page(byID[from:to])}
	if to < len(byID) {
		next := strconv.Itoa(to)
		u := *r.URL
		v := u.Query()
		v.Set("after", next)
		u.RawQuery = v.Encode()
		out["paging"] = map[string]any{"next": map[string]any{"after": next, "link": u.String()}}
	}
	json.NewEncoder(w).Encode(out)
}

// searchRequest is the body of POST …/search.
type searchRequest struct {
	FilterGroups []struct {
		Filters []struct {
			PropertyName string `json:"propertyName"`
			Operator     string `json:"operator"`
			Value        string `json:"value"`
		} `json:"filters"`
	} `json:"filterGroups"`
	Sorts []struct {
		PropertyName string `json:"propertyName"`
		Direction    string `json:"direction"`
	} `json:"sorts"`
	Limit int    `json:"limit"`
	After string `json:"after"`
}

// search supports what incremental syncs use: GTE on the last-modified
// property, sorted ascending by it.
func (s *Server) search(w http.ResponseWriter, r *http.Request, object string, all []*Object) {
	var req searchRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, map[string]any{"status": "error", "message": "Invalid input JSON: " + err.Error(), "category": "VALIDATION_ERROR"})
		return
	}
	mod := s.data.Modified[object]
	var since time.Time
	for _, g := range req.FilterGroups {
		for _, f := range g.Filters {
			if f.PropertyName != mod || f.Operator != "GTE" {
				s.fail(w, http.StatusBadRequest, map[string]any{"status": "error",
					"message": fmt.Sprintf("this mock supports only %s GTE filters", mod), "category": "VALIDATION_ERROR"})
				return
			}
			t, err := parseTime(f.Value)
			if err != nil {
				s.fail(w, http.StatusBadRequest, map[string]any{"status": "error", "message": err.Error(), "category": "VALIDATION_ERROR"})
				return
			}
			since = t
		}
	}
	for _, so := range req.Sorts {
		if so.PropertyName != mod || !strings.EqualFold(so.Direction, "ASCENDING") {
			s.fail(w, http.StatusBadRequest, map[string]any{"status": "error",
				"message": fmt.Sprintf("this mock sorts only by %s ASCENDING", mod), "category": "VALIDATION_ERROR"})
			return
		}
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 10
	}
	if limit > 200 {
		s.fail(w, http.StatusBadRequest, map[string]any{"status": "error", "message": "limit must be at most 200", "category": "VALIDATION_ERROR"})
		return
	}
	var hits []*Object
	for _, o := range all { // already in last-modified order
		if !o.modified.Before(since) {
			hits = append(hits, o)
		}
	}
	from, _ := strconv.Atoi(req.After)
	from = min(max(from, 0), len(hits))
	to := min(from+limit, len(hits))
	out := map[string]any{"total": len(hits), "results": page(hits[from:to])}
	if to < len(hits) {
		out["paging"] = map[string]any{"next": map[string]any{"after": strconv.Itoa(to)}}
	}
	json.NewEncoder(w).Encode(out)
}

func page(list []*Object) []*Object {
	if list == nil {
		return []*Object{}
	}
	return list
}

func bounded(v string, def, most int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, fmt.Errorf("limit must be a number from 1 to %d, not %q", most, v)
	}
	return n, nil
}

// parseTime reads a filter value: epoch milliseconds or an ISO time.
func parseTime(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("filter value %q is neither epoch milliseconds nor an ISO 8601 time", v)
}
