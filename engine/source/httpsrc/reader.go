package httpsrc

import (
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/crmsync/crmsync/engine/jsontext"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// openEnv is what an auth maker may need when a reader opens.
type openEnv struct {
	timeout time.Duration
}

// reader reads one entity's pages.
type reader struct {
	o        *opener
	log      *slog.Logger
	red      *redactor
	st       *sourceState
	client   *http.Client // st's, or st's through the Env's WrapTransport
	src, ent *bucket      // ent is nil when the entity has no rate_limit of its own
	auth     authenticator
	ua       string

	*counters // shared with the reader of incremental_request
}

// counters are a reader's statistics.
type counters struct {
	calls, retries, waitNs atomic.Int64
	lastBody               atomic.Int64 // size of the last body, to size the next
}

var (
	_ source.Reader        = (*reader)(nil)
	_ source.StatsReporter = (*reader)(nil)
	_ source.Opener        = (*opener)(nil)
)

// Open prepares a reader; it does no I/O (an oauth2 token is fetched with
// the first request).
func (o *opener) Open(_ context.Context, env *source.Env) (source.Reader, error) {
	if env == nil {
		env = &source.Env{}
	}
	r := &reader{o: o, log: env.Logger, red: newRedactor(o.secretParams, env.Redact), counters: &counters{}}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	version := env.Version
	if version == "" {
		version = "dev"
	}
	r.ua = "crmsync/" + version
	r.st = stateFor(o.stateKey)
	r.client = r.st.client
	if env.WrapTransport != nil {
		c := *r.st.client
		c.Transport = env.WrapTransport(c.Transport)
		r.client = &c
	}
	r.src = bucketFor(o.srcRate.key, o.srcRate.perSecond, o.srcRate.burst, o.srcRate.shared)
	if o.entRate != nil {
		r.ent = bucketFor(o.entRate.key, o.entRate.perSecond, o.entRate.burst, o.entRate.shared)
	}
	r.auth = o.auth(r.st, &openEnv{timeout: o.timeout})
	return r, nil
}

// Stats returns the reader's counters.
func (r *reader) Stats() source.Stats {
	return source.Stats{APICalls: r.calls.Load(), Retries: r.retries.Load(), RateLimitWait: time.Duration(r.waitNs.Load())}
}

// Read streams the entity's pages in order. It holds one page at a time;
// emit may block.
func (r *reader) Read(ctx context.Context, st source.ReadState, emit func(source.Page) error) error {
	if st.Incremental && r.o.inc != nil {
		// incremental_request: the same client, limits, auth and counters,
		// another request, records path and paging.
		feed := *r
		feed.o = r.o.inc
		return feed.read(ctx, st, emit)
	}
	return r.read(ctx, st, emit)
}

func (r *reader) read(ctx context.Context, st source.ReadState, emit func(source.Page) error) error {
	v := r.vars(st)
	pg := r.o.pager.newPager()
	var sh *rowShaper
	if r.o.rows != nil {
		sh = newRowShaper(r.o.rows)
	}
	if ok, err := r.restore(pg, sh, st.Resume); err != nil {
		return err
	} else if ok {
		r.log.Info("continuing a full read from the last committed page", "entity", r.o.entity)
	}
	if r.o.job != nil {
		if err := r.runJob(ctx, &v); err != nil {
			return err
		}
	}
	var rs *restartState
	if r.o.restart != nil {
		rs = newRestartState(r.o.restart)
	}
	seed := maphash.MakeSeed()
	var prevHash uint64
	prevPage, hint, empty := 0, 0, 0
	for n := 1; ; n++ {
		if limit := r.o.rules.maxPages; limit > 0 && n > limit {
			r.log.Info("stopping at max_pages", "max_pages", limit)
			return nil
		}
		var c call
		pg.prepare(&c)
		res, err := r.fetch(ctx, &v, &c, n)
		if err != nil {
			return err
		}
		recs, raw, err := r.records(res.body, hint, res.fromXML)
		if err != nil {
			return r.pageErr(res, step{page: n}, err.Error(), true)
		}
		hint = len(recs)
		// The pager and the empty-page rule count the rows the server
		// sent, the header row and rejected rows included.
		count := len(recs)
		var rejects []source.Reject
		if sh != nil {
			if recs, rejects, err = sh.shape(recs); err != nil {
				return r.pageErr(res, step{page: n}, err.Error(), false)
			}
		}
		if count == 0 {
			empty++
		} else {
			empty = 0
		}
		total := -1
		if r.o.rules.total != "" {
			if t := gjson.Get(res.body, r.o.rules.total); t.Exists() && t.Type != gjson.Null {
				total = int(t.Int())
			}
		}
		if count > 0 {
			h := maphash.String(seed, raw)
			if prevPage > 0 && h == prevHash {
				return r.pageErr(res, step{page: n}, fmt.Sprintf("the server returned the same records as page %d; stopping instead of looping", prevPage), false)
			}
			prevHash, prevPage = h, n
		}
		more, err := pg.advance(&pageResult{number: n, body: res.body, header: res.header, url: res.url,
			count: count, total: total, records: recs, redact: r.red, allowed: r.o.allowed})
		if err != nil {
			return fmt.Errorf("entity %q: page %d: %s", r.o.entity, n, r.red.text(err.Error()))
		}
		if more && r.o.rules.hasMore != "" {
			if hm := gjson.Get(res.body, r.o.rules.hasMore); hm.Exists() && !hm.Bool() {
				more = false
			}
		}
		if rs != nil {
			recs = rs.filter(recs)
		}
		page := source.Page{Number: n, Records: recs, Total: total, Rejects: rejects}
		if more && !r.stopsAfter(n, empty) {
			page.Resume = r.resumeText(pg, sh)
		}
		if err := emit(page); err != nil {
			return err
		}
		if !more {
			return nil
		}
		if limit := r.o.rules.maxEmpty; limit > 0 && empty >= limit {
			r.log.Warn(fmt.Sprintf("entity %q: %d %s in a row had no records, yet the server says more follow; stopping (max_empty_pages)", r.o.entity, empty, plural(empty, "page", "pages")),
				"page", n, "max_empty_pages", limit)
			return nil
		}
		if rs != nil && rs.due() {
			wm, err := rs.restart()
			if err != nil {
				return fmt.Errorf("entity %q: page %d: %s", r.o.entity, n, r.red.text(err.Error()))
			}
			r.log.Info("restarting a capped query", "page", n, "after", r.o.restart.after, "watermark", r.red.text(wm))
			v.watermark = wm
			pg = r.o.pager.newPager()
		}
	}
}

// stopsAfter reports whether max_pages or max_empty_pages ends the read
// after page n although the server says more follow: that page is the
// last, and the next run starts over.
func (r *reader) stopsAfter(n, empty int) bool {
	return (r.o.rules.maxPages > 0 && n >= r.o.rules.maxPages) || (r.o.rules.maxEmpty > 0 && empty >= r.o.rules.maxEmpty)
}

// vars are the template values of one read.
func (r *reader) vars(st source.ReadState) vars {
	f := r.o.format
	v := vars{watermark: st.Watermark, parent: st.Parent}
	if !st.Start.IsZero() {
		v.start, _ = source.FormatTime(st.Start, f)
	}
	if !st.End.IsZero() {
		v.end, _ = source.FormatTime(st.End, f)
	}
	v.now, _ = source.FormatTime(time.Now(), f)
	return v
}

// records picks the page's records out of the body; raw is the JSON text
// of the whole array, for the repeat check.
func (r *reader) records(body string, hint int, fromXML bool) ([]source.Record, string, error) {
	var arr gjson.Result
	if r.o.records == "" {
		arr = gjson.Parse(body)
		if !arr.IsArray() {
			return nil, "", fmt.Errorf("the body is %s, not an array of records: set records to the path of the array (top-level keys: %s)", jsontext.Kind(arr), jsontext.TopKeys(arr))
		}
	} else {
		arr = gjson.Get(body, r.o.records)
		switch {
		case !arr.Exists() && r.nullBeforeProjection(body):
			return nil, "", nil
		case !arr.Exists() && fromXML && parentExists(body, r.o.records):
			// XML cannot write an empty list: a feed without <entry>
			// elements is an empty page.
			return nil, "", nil
		case !arr.Exists():
			return nil, "", fmt.Errorf("the records path %q is not in the body (top-level keys: %s)", r.o.records, jsontext.TopKeys(gjson.Parse(body)))
		case arr.Type == gjson.Null:
			return nil, "", nil
		case !arr.IsArray():
			return nil, "", fmt.Errorf("the records path %q holds %s, not an array (use [@this] around a single record)", r.o.records, jsontext.Kind(arr))
		}
	}
	recs := make([]source.Record, 0, max(hint, 16))
	projected := len(r.o.recordsNull) > 0
	arr.ForEach(func(_, v gjson.Result) bool {
		if projected && v.Type == gjson.Null {
			return true // data.#.item where one item is null: no record
		}
		recs = append(recs, source.Record{JSON: v.Raw})
		return true
	})
	return recs, arr.Raw, nil
}

// nullBeforeProjection reports whether the records path found nothing
// because a part of it before a # projection is null ("data": null under
// records: data.#.item): an empty page.
func (r *reader) nullBeforeProjection(body string) bool {
	for _, p := range r.o.recordsNull {
		if v := gjson.Get(body, p); v.Exists() && v.Type == gjson.Null {
			return true
		}
	}
	return false
}

// pageErr is an error about a page's body, naming the request.
func (r *reader) pageErr(res *response, page step, msg string, withBody bool) error {
	e := &requestError{entity: r.o.entity, page: page, method: res.method, url: r.red.url(res.url),
		status: res.status, msg: r.red.text(msg)}
	if withBody {
		e.snippet = snippet(r.red.text(res.body)) // redact, then cut: never half a secret
		if ct := res.header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
			e.msg += " (Content-Type " + ct + ")"
		}
	}
	return e
}

// readAll reads a body into a string without a copy: into one buffer
// sized by Content-Length, or by the previous page when the body is
// chunked, grown by doubling. The buffer is never written afterwards, so
// records may be substrings of it. A body above limit bytes is an error,
// never a truncation.
func readAll(rd io.Reader, size, hint, limit int64) (string, error) {
	if size > limit {
		return "", &bodyLimitError{limit: limit, declared: size}
	}
	c := hint + hint/8
	if size >= 0 {
		c = size + 1 // room for the read that sees EOF
	}
	buf := make([]byte, 0, min(max(c, 4096), limit+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return "", &bodyLimitError{limit: limit}
		}
		if err == io.EOF {
			return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// bodyLimitError is a body above max_body_bytes; it is not retried.
type bodyLimitError struct {
	limit    int64
	declared int64 // Content-Length, when it already said so; else 0
}

func (e *bodyLimitError) Error() string {
	if e.declared > 0 {
		return fmt.Sprintf("the body is %s (Content-Length), above max_body_bytes (%s); not read", byteSize(e.declared), byteSize(e.limit))
	}
	return fmt.Sprintf("the body is larger than max_body_bytes (%s); stopped reading it", byteSize(e.limit))
}

// byteSize writes n in MiB when it is a whole number of them.
func byteSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
