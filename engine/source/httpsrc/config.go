package httpsrc

import (
	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"go.yaml.in/yaml/v3"
)

// SourceConfig holds the settings of a source of type: http (besides type).
type SourceConfig struct {
	BaseURL   string            `yaml:"base_url"`
	Headers   map[string]string `yaml:"headers"`
	Auth      *Auth             `yaml:"auth"`
	RateLimit *RateLimit        `yaml:"rate_limit"`
	Retry     *Retry            `yaml:"retry"`
	Timeout   config.Duration   `yaml:"timeout"`
	// HeaderTimeout bounds the wait for a response's status line and
	// headers; IdleTimeout the gap between two reads of its body.
	HeaderTimeout config.Duration `yaml:"header_timeout"`
	IdleTimeout   config.Duration `yaml:"idle_timeout"`
	// MaxBodyBytes bounds one response body (0: the default); MaxDepth
	// the nesting of arrays and objects in it, checked before parsing.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	MaxDepth     int   `yaml:"max_depth"`
	// AllowOrigins are other origins (scheme://host[:port]) that redirects
	// and next-page links may go to; they get no credentials.
	AllowOrigins []string  `yaml:"allow_origins"`
	Paginate     *Paginate `yaml:"paginate"`   // default for every entity
	ErrorWhen    ErrorWhen `yaml:"error_when"` // expr over the decoded body
	Records      string    `yaml:"records"`    // default records path for every entity
	// Format says how response bodies are read: json, or xml (converted
	// to JSON once per page, so every path reads it the same way). Unset:
	// JSON, or XML when the response's Content-Type says XML.
	Format string `yaml:"format"`
	// XML tunes the XML-to-JSON mapping.
	XML *XMLFormat `yaml:"xml"`
	// Lookups are requests run once at the start of each entity's sync;
	// expressions read their records as lookup.<name>.
	Lookups map[string]*LookupRequest `yaml:"lookups"`
}

// LookupRequest is a request whose records expressions may read: a list of
// custom fields, the labels of option ids.
type LookupRequest struct {
	Request  *Request  `yaml:"request"`
	Records  string    `yaml:"records"`
	Paginate *Paginate `yaml:"paginate"`
	// Key is a gjson path in each record: lookup.<name> is then a map of
	// its value to the record (the first record of each value wins);
	// without it, the list of records.
	Key string `yaml:"key"`
	// Cache keeps the records this long for later syncs of the same
	// process (crmsync serve, or a run of several entities); 0: read at
	// the start of every sync.
	Cache config.Duration `yaml:"cache"`
}

// EntityConfig holds an entity's own settings for type: http.
type EntityConfig struct {
	Request  *Request  `yaml:"request"`
	Records  string    `yaml:"records"`
	Rows     *Rows     `yaml:"rows"`
	Paginate *Paginate `yaml:"paginate"`
	// RateLimit is an extra bucket for this entity's requests, waited on
	// after the source's (an endpoint with its own limit, such as a search).
	RateLimit *RateLimit `yaml:"rate_limit"`
	// IncrementalRequest is the request of incremental runs (a change
	// feed) when it differs from the full read's (a list endpoint): one
	// table, one checkpoint, two readers.
	IncrementalRequest *IncrementalRequest `yaml:"incremental_request"`
	// ChangedWhen is a cheap request whose value must differ from the
	// one stored with the last complete sync for the entity to be read.
	ChangedWhen *ChangedWhen `yaml:"changed_when"`
	// Job makes a read an asynchronous job: start it, poll until it is
	// done, then page its results with request ({{ job.id }}).
	Job *Job `yaml:"job"`
}

// ChangedWhen is change detection by probe: request is sent before the
// read (with the source's base_url, auth, limits and retries) and value,
// a gjson path into its body, is compared with the stored one.
type ChangedWhen struct {
	Request *Request `yaml:"request"`
	Value   string   `yaml:"value"`
}

// Job is an API whose read is a job: a start request that returns the
// job's id, a poll request repeated until done_when holds (or fail_when,
// or the timeout), then the entity's request pages the results.
type Job struct {
	Start *Request `yaml:"start"`
	// ID is the gjson path of the job's id in the start response.
	ID   string   `yaml:"id"`
	Poll *Request `yaml:"poll"`
	// Every is the wait between polls (default 2s); Timeout bounds the
	// whole wait for the job (default 10m).
	Every   config.Duration `yaml:"every"`
	Timeout config.Duration `yaml:"timeout"`
	// DoneWhen and FailWhen are expr expressions over the poll body's
	// top-level keys; FailMessage a gjson path of the reason in it.
	DoneWhen    string `yaml:"done_when"`
	FailWhen    string `yaml:"fail_when"`
	FailMessage string `yaml:"fail_message"`
}

// IncrementalRequest is a request with its own records and paging.
type IncrementalRequest struct {
	Request  `yaml:",inline"`
	Records  string    `yaml:"records"`
	Rows     *Rows     `yaml:"rows"`
	Paginate *Paginate `yaml:"paginate"`
}

// Rows turns records that are arrays of cells (spreadsheet rows, query
// results) into objects: cell i goes under the name of column i.
type Rows struct {
	// Header is first (the first row of the read names the columns; it
	// is not a record) or none (names: gives them).
	Header string `yaml:"header"`
	// Cells is a gjson path from a row to its array of cell values; ""
	// when the row itself is the array. A path through a # projection
	// (Data.#.VarCharValue) keeps a cell without the value as null.
	Cells string `yaml:"cells"`
	// Names are the column names of header: none.
	Names []string `yaml:"names"`
}

// Auth picks how HTTP requests authenticate; each type owns its other
// keys (its config struct, registered with registerAuth), decoded from
// Node when the source compiles.
type Auth struct {
	Type string `yaml:"type" desc:"Authentication scheme."` // none | api_key | bearer | basic | oauth2 | jwt | signed | aws_sigv4

	// Node is the auth mapping as written, for the type's own keys. It
	// holds the secrets' text: never marshalled.
	Node *yaml.Node `yaml:"-" json:"-"`
	// Settings are the mapping decoded into the type's struct (every
	// type's when the type is unknown), so the secrets in it are found.
	// Exported so that fmt prints the Secrets in it as [redacted].
	Settings []any `yaml:"-" json:"-"`
}

// RateLimit is a token bucket shared by every entity of the source, or by
// every pipeline naming the same budget.
type RateLimit struct {
	PerSecond float64 `yaml:"per_second"`
	// Requests per Per is the rate as an API states it ("40 requests per
	// 2 seconds"); it is another spelling of per_second.
	Requests int             `yaml:"requests"`
	Per      config.Duration `yaml:"per"`
	Burst    int             `yaml:"burst"`
	Budget   string          `yaml:"budget"`
	// Response headers that tell how many calls remain and when the window resets.
	RemainingHeader string `yaml:"remaining_header"`
	ResetHeader     string `yaml:"reset_header"`
	// Window is how long to wait when the remaining count reaches 0 and no
	// reset header says when the window ends (HubSpot: 10s; default 1s).
	Window config.Duration `yaml:"window"`
}

// Retry is the back-off policy for 429, 5xx, resets, timeouts and truncated bodies.
type Retry struct {
	Attempts int             `yaml:"attempts"`
	Initial  config.Duration `yaml:"initial"`
	Max      config.Duration `yaml:"max"`
	// When are expressions over an error response (a status no other rule
	// retries: a 400 or 403) that say it is worth another try, for APIs
	// that throttle with one (AWS: 400 ThrottlingException).
	When ErrorWhen `yaml:"when"`
}

// Paginate picks a pagination style and holds the settings every style
// reads; each style owns its other keys (its config struct, registered
// with registerPager), decoded from Node when the style compiles.
type Paginate struct {
	Style string `yaml:"style" desc:"Pagination style."`

	Total   string `yaml:"total" desc:"offset, page: gjson path of the total record count in the body; reading stops when it is reached."`
	HasMore string `yaml:"has_more" desc:"gjson path of a boolean in the body that says whether more pages follow."`

	MaxPages int `yaml:"max_pages" desc:"Stop after this many pages (0: no limit)." minimum:"0"`
	// MaxEmptyPages stops paging after this many pages in a row without
	// records (0: the default, 3).
	MaxEmptyPages int `yaml:"max_empty_pages" minimum:"0" desc:"Stop, with a warning, after this many pages in a row without records even when the server says more follow (a cursor handed out for every empty page would otherwise be followed forever). The records read so far count; the sync succeeds. Default 3; 0: the default."`

	// A query that stops after a fixed number of results (HubSpot search:
	// 10,000) is restarted after RestartAfter records, with {{ watermark }}
	// set to the newest value of RestartWatermark (a gjson path into each
	// record) seen so far and the cursor cleared.
	RestartAfter     int    `yaml:"restart_after" minimum:"1" desc:"cursor: restart the query after this many records (HubSpot search stops at 10,000), from the newest restart_watermark seen."`
	RestartWatermark string `yaml:"restart_watermark" desc:"cursor: gjson path, in each record, of the value the query is sorted by; its newest value becomes {{ watermark }} when the query restarts."`

	// Node is the paginate mapping as written, for the style's own keys.
	Node *yaml.Node `yaml:"-"`
}

// UnmarshalYAML decodes the shared keys and keeps the mapping for the
// style.
func (pg *Paginate) UnmarshalYAML(n *yaml.Node) error {
	type plain Paginate // no UnmarshalYAML: no recursion
	if err := n.Decode((*plain)(pg)); err != nil {
		return err
	}
	pg.Node = n
	return nil
}

// XMLFormat tunes how an XML body maps to JSON keys.
type XMLFormat struct {
	// Namespaces maps a prefix of the pipeline's choosing to a namespace
	// URI: elements and attributes in it are keyed "<prefix>:<local>".
	// Every other element is keyed by its local name.
	Namespaces map[string]string `yaml:"namespaces"`
	// Lists are element names that are always an array, even when one
	// element appears.
	Lists []string `yaml:"lists"`
}

// Request is the HTTP request of an entity.
type Request struct {
	// Format overrides the source's format for this request: with xml, a
	// body that is a string is sent as XML text (its {{ }} values
	// XML-escaped) and the response is read as XML.
	Format  string            `yaml:"format"`
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Params  map[string]string `yaml:"params"`
	Headers map[string]string `yaml:"headers"`
	Body    any               `yaml:"body"`
}

// ErrorWhen is the error_when setting: expressions over a 2xx response
// that say the body reports a failure. It is written as one expression,
// as {expr: …, retry: false}, or as a list of those tried in order (the
// first that matches decides whether the failure is retried).
type ErrorWhen []ErrorRule

// ErrorRule is one error_when expression. A match is retried like a 5xx
// unless Retry is false.
type ErrorRule struct {
	Expr  string `yaml:"expr"`
	Retry *bool  `yaml:"retry"`
}

// Retryable reports whether a match of the rule is worth another try.
func (r ErrorRule) Retryable() bool { return r.Retry == nil || *r.Retry }

// UnmarshalYAML reads error_when: one expression, a mapping
// {expr, retry}, or a list of either.
func (w *ErrorWhen) UnmarshalYAML(n *yaml.Node) error {
	one := func(n *yaml.Node) (ErrorRule, error) {
		if n.Kind == yaml.ScalarNode {
			return ErrorRule{Expr: n.Value}, nil
		}
		type plain ErrorRule // no UnmarshalYAML: no recursion
		var r plain
		err := n.Decode(&r)
		return ErrorRule(r), err
	}
	*w = nil
	switch {
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || n.Value == ""):
		return nil
	case n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			r, err := one(c)
			if err != nil {
				return err
			}
			*w = append(*w, r)
		}
		return nil
	}
	r, err := one(n)
	if err != nil {
		return err
	}
	*w = ErrorWhen{r}
	return nil
}

// sourceOf and entityOf are the spec's http settings (empty ones when a
// spec carries none).
func sourceOf(spec *source.Spec) *SourceConfig {
	if s, ok := spec.Source.Settings.(*SourceConfig); ok && s != nil {
		return s
	}
	return &SourceConfig{}
}

func entityOf(spec *source.Spec) *EntityConfig {
	if spec.Entity != nil {
		if e, ok := spec.Entity.Settings.(*EntityConfig); ok && e != nil {
			return e
		}
	}
	return &EntityConfig{}
}
