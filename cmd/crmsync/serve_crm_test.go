package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveCRM serves records 1..n at /{entity}: pageSize a page after a
// delay, sorted by updated_at, filtered by ?since=, paged by ?after=. It
// remembers each sync's first request and the X-Tag headers it saw.
type serveCRM struct {
	*httptest.Server
	n, pageSize int
	delay       time.Duration
	badEmail    int // this record's email is invalid (0: none)

	mu        sync.Mutex
	syncs     map[string][]string // per entity: the since= of each first-page request
	tags      []string
	active    map[string]int // requests in flight per entity
	maxActive map[string]int
}

var crmEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newServeCRM(t *testing.T, n, pageSize int, delay time.Duration) *serveCRM {
	c := &serveCRM{n: n, pageSize: pageSize, delay: delay, syncs: map[string][]string{}, active: map[string]int{}, maxActive: map[string]int{}}
	c.Server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.Close)
	return c
}

func (c *serveCRM) serve(w http.ResponseWriter, r *http.Request) {
	ent := strings.TrimPrefix(r.URL.Path, "/")
	q := r.URL.Query()
	after, _ := strconv.Atoi(q.Get("after"))
	var since time.Time
	if s := q.Get("since"); s != "" {
		since, _ = time.Parse(time.RFC3339Nano, s)
	}
	c.mu.Lock()
	if after == 0 {
		c.syncs[ent] = append(c.syncs[ent], q.Get("since"))
	}
	if tag := r.Header.Get("X-Tag"); tag != "" && (len(c.tags) == 0 || c.tags[len(c.tags)-1] != tag) {
		c.tags = append(c.tags, tag)
	}
	c.active[ent]++
	c.maxActive[ent] = max(c.maxActive[ent], c.active[ent])
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.active[ent]--
		c.mu.Unlock()
	}()
	select {
	case <-time.After(c.delay):
	case <-r.Context().Done(): // a killed client is gone at once
		return
	}
	var items []map[string]any
	i := after + 1
	for ; i <= c.n && len(items) < c.pageSize; i++ {
		at := crmEpoch.Add(time.Duration(i) * time.Second)
		if at.Before(since) {
			continue
		}
		email := fmt.Sprintf("u%d@example.com", i)
		if i == c.badEmail {
			email = "not-an-email"
		}
		items = append(items, map[string]any{"id": i, "email": email, "updated_at": at.Format(time.RFC3339)})
	}
	body := map[string]any{"items": items}
	if i <= c.n {
		body["next"] = strconv.Itoa(i - 1)
	}
	json.NewEncoder(w).Encode(body)
}

func (c *serveCRM) syncsOf(ent string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.syncs[ent]...)
}

// mostAtOnce is the most requests of one entity that were in flight together.
func (c *serveCRM) mostAtOnce(ent string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxActive[ent]
}

func (c *serveCRM) seenTags() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tags...)
}

// crmPipeline writes a pipeline over a serveCRM; extra goes under source:.
type crmPipeline struct {
	name, url, schedule, tag, sourceExtra string
	entityExtra                           string // added under each entity
	entities                              []string
	incremental                           bool
}

func (p crmPipeline) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1\nname: %s\n", p.name)
	if p.schedule != "" {
		fmt.Fprintf(&b, "schedule: %s\n", p.schedule)
	}
	fmt.Fprintf(&b, "source:\n  type: http\n  base_url: %s\n  retry: {attempts: 1}\n  records: items\n  paginate: {style: cursor, cursor: next, param: after}\n", p.url)
	b.WriteString(p.sourceExtra)
	b.WriteString("entities:\n")
	for _, e := range p.entities {
		fmt.Fprintf(&b, "  %s:\n    request: {path: /%s}\n    primary_key: id\n    batch_size: 10\n", e, e)
		b.WriteString(p.entityExtra)
		if p.incremental {
			b.WriteString("    incremental: {field: updated_at, param: since, sorted: true}\n")
		}
		b.WriteString("    fields:\n      id: {path: id, type: integer}\n      email: {path: email, type: email, validate: [email], on_invalid: reject}\n")
		b.WriteString("      updated_at: {path: updated_at, type: datetime}\n")
		if p.tag != "" {
			fmt.Fprintf(&b, "      tag: {expr: '%q'}\n", p.tag)
		}
	}
	return b.String()
}
