// Package httpsrc reads records from HTTP JSON APIs: the source type
// "http". It compiles an entity's request, pagination, auth, limits and
// retries once, then streams pages of records.
package httpsrc

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/jsontext"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/xmljson"
)

func init() {
	source.Register(source.Kind{Name: "http", Source: (*SourceConfig)(nil), Entity: (*EntityConfig)(nil),
		Compile: compile, Lookups: compileLookups, Optional: []string{"parent"}})
}

// Methods are the HTTP methods a request may use (method:).
var Methods = []string{"GET", "POST"}

// Defaults of the settings a pipeline may leave out.
const (
	defaultTimeout  = 30 * time.Second
	defaultAttempts = 5
	defaultInitial  = 500 * time.Millisecond
	defaultMaxDelay = 30 * time.Second
	defaultWindow   = time.Second
	defaultIdle     = 15 * time.Second
	defaultMaxBody  = 256 << 20
	defaultMaxDepth = jsontext.MaxDepth
	// maxMaxBody and maxMaxDepth bound what a file may set: a body must
	// fit in memory, and the parsers recurse once per level.
	maxMaxBody  = 4 << 30
	maxMaxDepth = 10000
)

// problems collects compile findings.
type problems struct{ list []source.Problem }

func (p *problems) errf(path, code, format string, args ...any) {
	p.list = append(p.list, source.Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) warnf(path, code, format string, args ...any) {
	p.list = append(p.list, source.Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...), Warning: true})
}

func (p *problems) hasErrors() bool {
	return slices.ContainsFunc(p.list, func(q source.Problem) bool { return !q.Warning })
}

// path reports a bad gjson path; it returns false when the path is bad.
func (p *problems) path(at, what, value string) bool {
	if err := checkPath(value); err != nil {
		p.errf(at, "bad-gjson", "%s %q is not a valid gjson path: %v", what, value, err)
		return false
	}
	return true
}

// template parses a template setting, reporting a bad one.
func (p *problems) template(at, value string) template {
	t, err := parseTemplate(value)
	if err != nil {
		p.errf(at, "bad-template", "%v", err)
	}
	return t
}

// opener is one compiled entity.
type opener struct {
	pipeline, entity string
	stateKey         string // pipeline and base URL: the shared client and token
	req              requestSpec
	records          string    // gjson path of the records; "" = the body is the array
	recordsNull      []string  // prefixes of records before each # projection: null there is an empty page
	rows             *rowsSpec // rows: records are arrays of cells; nil when not
	pager            pagerSpec
	rules            pageRules
	restart          *restartSpec
	timeout          time.Duration
	headerTimeout    time.Duration // wait for the status line and headers
	idleTimeout      time.Duration // longest gap between body reads
	maxBody          int64
	maxDepth         int
	allow            map[string]bool // other origins redirects and next links may reach, without credentials
	retry            retryPolicy
	retryWhen        *errorWhen // retry.when: error responses worth another try
	errorWhen        *errorWhen
	srcRate          rateSpec
	entRate          *rateSpec
	auth             authMaker
	job              *jobSpec // an asynchronous job run before the first page; nil without one
	secretParams     []string
	secretHeaders    []string // api_key headers and signed headers: values to redact
	format           string   // incremental.format, for window, now and restarts
	bodyFormat       string   // json | xml | "" (by Content-Type)
	xml              *xmljson.Options
	// resumable: a full read commits the pager's position with each page
	// (no incremental, no parent, no restart_after); resumeKey names the
	// query a stored position belongs to.
	resumable bool
	resumeKey string
	// inc is the entity compiled with incremental_request: the reader of
	// incremental runs. nil without one.
	inc *opener
	// change is changed_when's probe; nil without one.
	change *changeSpec
}

// pageRules are the stop rules every style shares.
type pageRules struct {
	total, hasMore string // gjson paths, "" when unset
	maxPages       int
	maxEmpty       int // pages in a row without records that end the paging
}

// rateSpec is one compiled rate_limit block.
type rateSpec struct {
	key              string
	shared           bool // a budget: other pipelines draw from it too
	perSecond        float64
	burst            int
	remaining, reset string // response header names
	window           time.Duration
	windowSet        bool // the file gives window: a 429 without Retry-After waits that long
}

func compile(spec *source.Spec) (source.Opener, []source.Problem) {
	p := &problems{}
	o := compileEntity(spec, p)
	if p.hasErrors() {
		return nil, p.list
	}
	return o, p.list
}

func compileEntity(spec *source.Spec, p *problems) *opener {
	src, ent := sourceOf(spec), entityOf(spec)
	ep := spec.Path
	o := &opener{pipeline: spec.Pipeline, entity: spec.Entity.Name}

	req := ent.Request
	if req == nil {
		req = &Request{}
	}
	base := strings.TrimRight(src.BaseURL, "/")
	switch u, err := url.Parse(base); {
	case base == "" && !isAbsURL(req.Path):
		p.errf("/source/base_url", "missing-setting", "source type http needs base_url (or every entity a request path that is a full URL)")
	case base == "":
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.errf("/source/base_url", "invalid-value", "base_url %q is not an http(s) URL with a host", src.BaseURL)
	}
	o.req.base = base
	o.stateKey = spec.Pipeline + "\x00" + base

	o.timeout = src.Timeout.Or(defaultTimeout)
	if src.Timeout.Set && src.Timeout.Duration <= 0 {
		p.errf("/source/timeout", "invalid-value", "timeout must be above 0")
	}
	compileLimits(src, p, o)
	o.retry = compileRetry(src.Retry, p)
	if src.Retry != nil && len(src.Retry.When) > 0 {
		o.retryWhen = compileErrorWhen(src.Retry.When, "/source/retry/when", p)
	}
	o.srcRate = compileRate(src.RateLimit, p, "/source/rate_limit", "source:"+o.stateKey)
	if ent.RateLimit != nil {
		r := compileRate(ent.RateLimit, p, ep+"/rate_limit", "entity:"+spec.Pipeline+"\x00"+o.entity)
		o.entRate = &r
	}
	o.auth, o.secretParams, o.secretHeaders = compileAuth(src.Auth, p)
	if len(src.ErrorWhen) > 0 {
		o.errorWhen = compileErrorWhen(src.ErrorWhen, "/source/error_when", p)
	}

	// The request of full reads, with the source's records and paginate
	// as defaults.
	full := variant{req: req, at: ep + "/request", records: ent.Records, recAt: ep + "/records", paginate: ent.Paginate, pgAt: ep + "/paginate",
		rows: ent.Rows, rowsAt: ep + "/rows"}
	if full.records == "" {
		full.records, full.recAt = src.Records, "/source/records"
	}
	if full.paginate == nil {
		full.paginate, full.pgAt = src.Paginate, "/source/paginate"
	}
	inc := ent.IncrementalRequest
	var feed *opener
	if ent.ChangedWhen != nil {
		// Compiled from the entity's shared parts, before the full request's.
		o.change = compileChangedWhen(spec, p, o, ent.ChangedWhen)
	}
	if inc != nil {
		// Copied before the full request fills in its own parts.
		c := *o
		feed = &c
	}
	o.compileRequest(spec, p, full)
	if spec.Entity.Incremental == nil && spec.Entity.Parent == nil && o.restart == nil && o.pager != nil {
		o.resumable = true
		o.resumeKey = resumeKey(o.req.method, o.req.base, req.Path, fmt.Sprint(sortedMap(req.Params)), o.records, fmt.Sprintf("%T%+v", o.pager, o.pager), rowsKey(o.rows))
	}
	if ent.Job != nil {
		o.job = compileJob(spec, p, o, ent.Job)
		o.resumable = false // a job id expires: a read that starts again starts a new job
	}
	checkWindows(spec, ent, p)
	if spec.Entity.Parent != nil && spec.Entity.Parent.Entity == "" {
		p.errf(ep+"/parent/entity", "missing-setting", "parent needs entity: the name of the entity whose records this one is read for")
	}
	if inc != nil {
		at := ep + "/incremental_request"
		if spec.Entity.Incremental == nil {
			p.errf(at, "missing-setting", "incremental_request is the request of incremental runs: the entity needs incremental (the field whose newest value is the watermark)")
		}
		if spec.Entity.Parent != nil {
			p.errf(at, "invalid-value", "incremental_request does not apply to an entity read per parent record")
		}
		v := variant{req: &inc.Request, at: at, records: inc.Records, recAt: at + "/records", paginate: inc.Paginate, pgAt: at + "/paginate",
			rows: inc.Rows, rowsAt: at + "/rows"}
		if v.records == "" {
			v.records, v.recAt = full.records, full.recAt
		}
		if v.rows == nil {
			v.rows, v.rowsAt = full.rows, full.rowsAt
		}
		if v.paginate == nil {
			v.paginate, v.pgAt = full.paginate, full.pgAt
		}
		if inc.Path == "" {
			p.errf(at+"/path", "missing-setting", "incremental_request needs path: the endpoint of incremental runs (a change feed such as /v1/recents)")
		}
		feed.compileRequest(spec, p, v)
		feed.job = o.job
		o.inc = feed
	}
	return o
}

// variant is one request of an entity: the full read's, or
// incremental_request's, with where each setting is in the file.
type variant struct {
	req            *Request
	at             string // JSON pointer of the request
	records, recAt string
	paginate       *Paginate
	pgAt           string
	rows           *Rows
	rowsAt         string
}

// compileRequest compiles a request with its records path and paging.
func (o *opener) compileRequest(spec *source.Spec, p *problems, v variant) {
	ent := entityOf(spec)
	src := sourceOf(spec)
	req := v.req
	var tpls []*template // every template, for the checks at the end
	o.req.path = p.template(v.at+"/path", req.Path)
	tpls = append(tpls, &o.req.path)

	o.req.method = strings.ToUpper(req.Method)
	switch o.req.method {
	case "":
		o.req.method = "GET"
	default:
		if !slices.Contains(Methods, o.req.method) {
			p.errf(v.at+"/method", "invalid-value", "method %q is not supported: want %s", req.Method, strings.Join(Methods, " or "))
		}
	}
	for _, k := range sortedKeys(req.Params) {
		t := p.template(v.at+"/params/"+escapePointer(k), req.Params[k])
		o.req.params = append(o.req.params, namedTemplate{k, t})
	}
	o.req.headers = compileHeaders(p, "/source/headers", src.Headers, nil)
	o.req.headers = compileHeaders(p, v.at+"/headers", req.Headers, o.req.headers)
	for i := range o.req.params {
		tpls = append(tpls, &o.req.params[i].t)
	}
	for i := range o.req.headers {
		tpls = append(tpls, &o.req.headers[i].t)
	}
	o.compileFormat(spec, req, v.at, p)
	if text, ok := req.Body.(string); ok && o.bodyFormat == formatXML {
		// An XML body: text whose {{ }} values are XML-escaped.
		t := p.template(v.at+"/body", text)
		o.req.xmlBody = &t
		tpls = append(tpls, o.req.xmlBody)
		if o.req.method == "GET" {
			p.errf(v.at+"/body", "invalid-value", "a request body needs method: POST")
		}
	} else if req.Body != nil {
		if o.bodyFormat == formatXML {
			p.errf(v.at+"/body", "invalid-value", "with format: xml the request body is XML text: write it as one string (a YAML block scalar, body: |)")
		}
		body, probs := compileBody(req.Body, v.at+"/body")
		p.list = append(p.list, probs...)
		o.req.body = body
		if o.req.method == "GET" {
			p.errf(v.at+"/body", "invalid-value", "a request body needs method: POST")
		}
	}

	compileIncremental(spec, p, o)
	if o.req.xmlBody != nil && o.req.incIn == "body" {
		p.errf(spec.Path+"/incremental/in", "invalid-value", "incremental.in: body adds a JSON key; an XML body carries the watermark where it says {{ watermark }}: drop in and param")
	}

	o.records = v.records
	if o.records != "" {
		p.path(v.recAt, "records", o.records)
		o.recordsNull = projectionPrefixes(o.records)
	}
	o.rows = compileRows(v.rows, v.rowsAt, p)
	o.compilePaginate(v.paginate, v.pgAt, req, p)

	usesParent := slices.ContainsFunc(tpls, func(t *template) bool { return t.uses(varParent) }) || o.req.body.uses(varParent)
	if usesParent && spec.Entity.Parent == nil {
		p.errf(v.at, "bad-template", "{{ parent.… }} is only set for an entity read per parent record: add parent: {entity: <name>}")
	}
	usesJob := slices.ContainsFunc(tpls, func(t *template) bool { return t.uses(varJob) }) || o.req.body.uses(varJob)
	if usesJob && ent.Job == nil {
		p.errf(v.at, "bad-template", "{{ job.… }} is only set for an entity with job: (start a job, poll it, then page its results)")
	}
	if o.restart != nil && o.req.incIn == "" && !o.req.body.uses(varWatermark) &&
		!slices.ContainsFunc(tpls, func(t *template) bool { return t.uses(varWatermark) }) {
		p.errf(v.pgAt+"/restart_after", "invalid-value", "restart_after restarts the query from the newest %s seen, but the request never sends the watermark: use {{ watermark }} in the request or set incremental.param", o.restart.path)
	}
}

func compileHeaders(p *problems, at string, m map[string]string, into []namedTemplate) []namedTemplate {
	for _, k := range sortedKeys(m) {
		t := p.template(at+"/"+escapePointer(k), m[k])
		name := httpHeaderKey(k)
		into = slices.DeleteFunc(into, func(n namedTemplate) bool { return n.name == name })
		into = append(into, namedTemplate{name, t})
	}
	return into
}

func compileIncremental(spec *source.Spec, p *problems, o *opener) {
	inc := spec.Entity.Incremental
	if inc == nil {
		return
	}
	at := spec.Path + "/incremental"
	o.format = inc.Format
	if _, err := source.FormatTime(time.Time{}, inc.Format); err != nil {
		p.errf(at+"/format", "invalid-value", "%v: want one of %s", err, strings.Join(source.WatermarkFormats, ", "))
	}
	in := inc.In
	switch in {
	case "":
		in = "query"
	case "query", "header", "body":
	default:
		p.errf(at+"/in", "invalid-value", "incremental.in %q does not apply to an http source: want query, header or body", inc.In)
	}
	if inc.Param == "" {
		if inc.In != "" {
			p.errf(at+"/param", "missing-setting", "incremental.in is %q but param (the name that carries the watermark) is not set", inc.In)
		}
		return
	}
	if in == "body" && o.req.method == "GET" {
		p.errf(at+"/in", "invalid-value", "incremental.in: body needs request method: POST")
	}
	if in == "header" {
		o.req.incParam = httpHeaderKey(inc.Param)
	} else {
		o.req.incParam = inc.Param
	}
	o.req.incIn = in
}

// compileLimits reads the timeouts, the body limits and allow_origins.
func compileLimits(src *SourceConfig, p *problems, o *opener) {
	o.headerTimeout = src.HeaderTimeout.Or(o.timeout)
	if src.HeaderTimeout.Set && src.HeaderTimeout.Duration <= 0 {
		p.errf("/source/header_timeout", "invalid-value", "header_timeout must be above 0")
	}
	o.idleTimeout = src.IdleTimeout.Or(defaultIdle)
	if src.IdleTimeout.Set && src.IdleTimeout.Duration <= 0 {
		p.errf("/source/idle_timeout", "invalid-value", "idle_timeout must be above 0")
	}
	o.maxBody = defaultMaxBody
	switch n := src.MaxBodyBytes; {
	case n < 0 || n > maxMaxBody:
		p.errf("/source/max_body_bytes", "invalid-value", "max_body_bytes must be between 1 and %d (4 GiB), or 0 for the default (%d, 256 MiB)", int64(maxMaxBody), defaultMaxBody)
	case n > 0:
		o.maxBody = n
	}
	o.maxDepth = defaultMaxDepth
	switch n := src.MaxDepth; {
	case n < 0 || n > maxMaxDepth:
		p.errf("/source/max_depth", "invalid-value", "max_depth must be between 1 and %d, or 0 for the default (%d)", maxMaxDepth, defaultMaxDepth)
	case n > 0:
		o.maxDepth = n
	}
	for i, s := range src.AllowOrigins {
		at := "/source/allow_origins/" + strconv.Itoa(i)
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			p.errf(at, "invalid-value", "allow_origins entry %q is not an origin: want scheme://host or scheme://host:port, such as https://cdn.example.com", s)
			continue
		}
		if o.allow == nil {
			o.allow = map[string]bool{}
		}
		o.allow[originOf(u)] = true
	}
}

func compileRetry(r *Retry, p *problems) retryPolicy {
	rp := retryPolicy{attempts: defaultAttempts, initial: defaultInitial, max: defaultMaxDelay}
	if r == nil {
		return rp
	}
	if r.Attempts < 0 {
		p.errf("/source/retry/attempts", "invalid-value", "retry.attempts must be 1 or more (1 turns retries off)")
	} else if r.Attempts > 0 {
		rp.attempts = r.Attempts
	}
	rp.initial = r.Initial.Or(defaultInitial)
	rp.max = r.Max.Or(max(defaultMaxDelay, rp.initial))
	if rp.initial > rp.max {
		p.errf("/source/retry/initial", "invalid-value", "retry.initial (%s) is longer than retry.max (%s)", rp.initial, rp.max)
	}
	return rp
}

func compileRate(r *RateLimit, p *problems, at, key string) rateSpec {
	rs := rateSpec{key: key, window: defaultWindow}
	if r == nil {
		return rs
	}
	if r.PerSecond < 0 {
		p.errf(at+"/per_second", "invalid-value", "rate_limit.per_second must be above 0")
	}
	perSecond := r.PerSecond
	if r.Requests != 0 || r.Per.Set {
		switch {
		case r.PerSecond != 0:
			p.errf(at+"/requests", "conflicting-settings", "rate_limit sets both per_second and requests/per: they are two spellings of one rate; keep one")
		case r.Requests <= 0:
			p.errf(at+"/requests", "missing-setting", "rate_limit.per needs requests: how many requests the API allows per %s", r.Per.Duration)
		case !r.Per.Set || r.Per.Duration <= 0:
			p.errf(at+"/per", "missing-setting", "rate_limit.requests needs per: the period the API counts %d requests over (per: 2s, per: 1m)", r.Requests)
		default:
			perSecond = float64(r.Requests) / r.Per.Seconds()
		}
	}
	if r.Burst < 0 {
		p.errf(at+"/burst", "invalid-value", "rate_limit.burst must be 1 or more")
	}
	if perSecond == 0 && r.Requests == 0 && !r.Per.Set && (r.Burst > 0 || r.Budget != "") {
		p.errf(at+"/per_second", "missing-setting", "rate_limit with burst or budget needs per_second (requests per second), or requests and per (requests: 40, per: 2s)")
	}
	if r.Window.Set && r.Window.Duration <= 0 {
		p.errf(at+"/window", "invalid-value", "rate_limit.window must be above 0")
	}
	if r.ResetHeader != "" && r.RemainingHeader == "" {
		p.warnf(at+"/reset_header", "unused-setting", "reset_header is only read together with remaining_header")
	}
	if r.Budget != "" {
		rs.key, rs.shared = "budget:"+r.Budget, true
	}
	rs.perSecond, rs.burst = perSecond, r.Burst
	rs.remaining, rs.reset = r.RemainingHeader, r.ResetHeader
	rs.window, rs.windowSet = r.Window.Or(defaultWindow), r.Window.Set
	if !r.Window.Set && r.Per.Set && r.Per.Duration > 0 {
		rs.window = r.Per.Duration // at 0 remaining, the stated period frees the calls up
	}
	return rs
}

func compileAuth(a *Auth, p *problems) (authMaker, []string, []string) {
	typ := "none"
	if a != nil && a.Type != "" {
		typ = a.Type
	}
	k, ok := authKinds[typ]
	if !ok {
		p.errf("/source/auth/type", "invalid-value", "unknown auth type %q: want one of %s", typ, strings.Join(authTypes(), ", "))
		k = authKinds["none"]
	}
	// Keys of another type are the schema's to reject (it is generated
	// from each type's struct): here the type's own are decoded.
	cfg := reflect.New(k.config)
	if ok && a != nil && a.Node != nil {
		if err := a.Node.Decode(cfg.Interface()); err != nil {
			p.errf("/source/auth", "wrong-type", "auth: %v", err)
			mk, _ := authKinds["none"].compile(reflect.New(authKinds["none"].config).Interface(), p, "")
			return mk, nil, nil
		}
	}
	mk, params := k.compile(cfg.Interface(), p, "/source/auth")
	var headers []string
	if h, ok := cfg.Interface().(secretHeaderer); ok {
		headers = h.secretHeaders()
	}
	return mk, params, headers
}

// sortedMap lists a map as key=value pairs in key order.
func sortedMap(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, k+"="+m[k])
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// httpHeaderKey canonicalises a header name the way net/http sends it.
func httpHeaderKey(k string) string { return http.CanonicalHeaderKey(k) }
