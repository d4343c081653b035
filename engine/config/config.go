// Package config holds the pipeline file language as Go values: what a
// pipeline YAML file decodes into after interpolation, profiles and
// environment overrides, before it is compiled into a plan.
//
// The JSON Schema in schema/pipeline.schema.json describes the same
// language for editors and for lint; the two are kept in step by tests.
package config

import (
	"time"
)

// Pipeline is one pipeline file: one CRM.
type Pipeline struct {
	Version     int                   `yaml:"version"`
	Name        string                `yaml:"name"`
	Description string                `yaml:"description"`
	Source      Source                `yaml:"source"`
	Defaults    Defaults              `yaml:"defaults"`
	Schedule    string                `yaml:"schedule"`
	Entities    Entities              `yaml:"entities"`
	Environment map[string]yamlIgnore `yaml:"environments"` // applied before decoding; kept for the schema
}

// Source says where records come from. Type picks the reader; each type
// reads only the settings that belong to it (the schema rejects the others).
type Source struct {
	Type string `yaml:"type"` // http | sql | file | github

	// http
	BaseURL   string            `yaml:"base_url"`
	Headers   map[string]string `yaml:"headers"`
	Auth      *Auth             `yaml:"auth"`
	RateLimit *RateLimit        `yaml:"rate_limit"`
	Retry     *Retry            `yaml:"retry"`
	Timeout   Duration          `yaml:"timeout"`
	Paginate  *Paginate         `yaml:"paginate"`   // default for every entity
	ErrorWhen string            `yaml:"error_when"` // expr over the decoded body
	Records   string            `yaml:"records"`    // default records path for every entity

	// sql
	Driver   string `yaml:"driver"` // postgres | mysql
	DSN      Secret `yaml:"dsn"`
	Timezone string `yaml:"timezone"` // how naive times are read

	// file and github
	Path   string     `yaml:"path"`   // file or glob
	Format string     `yaml:"format"` // csv | jsonl | json
	CSV    *CSVFormat `yaml:"csv"`

	// github
	Repo  string `yaml:"repo"`
	Ref   string `yaml:"ref"`
	Token Secret `yaml:"token"`
}

// Auth is how HTTP requests authenticate.
type Auth struct {
	Type string `yaml:"type"` // none | api_key | bearer | basic | oauth2

	// api_key: one or more headers and/or query parameters.
	Headers map[string]Secret `yaml:"headers"`
	Query   map[string]Secret `yaml:"query"`

	// bearer
	Token  Secret `yaml:"token"`
	Scheme string `yaml:"scheme"` // Authorization scheme, default "Bearer"

	// basic
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`

	// oauth2
	Grant        string   `yaml:"grant"` // client_credentials | refresh_token
	TokenURL     string   `yaml:"token_url"`
	ClientID     string   `yaml:"client_id"`
	ClientSecret Secret   `yaml:"client_secret"`
	RefreshToken Secret   `yaml:"refresh_token"`
	Scopes       []string `yaml:"scopes"`
}

// RateLimit is a token bucket shared by every entity of the source, or by
// every pipeline naming the same budget.
type RateLimit struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
	Budget    string  `yaml:"budget"`
	// Response headers that tell how many calls remain and when the window resets.
	RemainingHeader string `yaml:"remaining_header"`
	ResetHeader     string `yaml:"reset_header"`
}

// Retry is the back-off policy for 429, 5xx, resets, timeouts and truncated bodies.
type Retry struct {
	Attempts int      `yaml:"attempts"`
	Initial  Duration `yaml:"initial"`
	Max      Duration `yaml:"max"`
}

// Paginate picks a pagination style and its settings.
type Paginate struct {
	Style string `yaml:"style"` // none | offset | page | cursor | next_url | link_header

	// offset and page
	OffsetParam string `yaml:"offset_param"`
	PageParam   string `yaml:"page_param"`
	LimitParam  string `yaml:"limit_param"`
	Limit       int    `yaml:"limit"`
	StartPage   *int   `yaml:"start_page"`
	Total       string `yaml:"total"`       // gjson path of the total record count
	TotalPages  string `yaml:"total_pages"` // gjson path of the total page count

	// cursor and next_url
	Cursor  string `yaml:"cursor"`   // gjson path of the next cursor
	Param   string `yaml:"param"`    // where the cursor goes
	In      string `yaml:"in"`       // query | body | header (default query)
	NextURL string `yaml:"next_url"` // gjson path of the next page's full URL
	HasMore string `yaml:"has_more"` // gjson path of a "more pages" boolean

	MaxPages int `yaml:"max_pages"`
}

// Request is the HTTP request of an entity.
type Request struct {
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Params  map[string]string `yaml:"params"`
	Headers map[string]string `yaml:"headers"`
	Body    any               `yaml:"body"`
}

// Incremental says which field's maximum becomes the watermark, and how
// the stored watermark reaches the next request.
type Incremental struct {
	Field    string   `yaml:"field"`
	Param    string   `yaml:"param"`  // name of the query param, header or body key
	In       string   `yaml:"in"`     // query | header | body | sql (default query; sql for sql sources)
	Format   string   `yaml:"format"` // rfc3339 | epoch_s | epoch_ms | date (default rfc3339)
	Lookback Duration `yaml:"lookback"`
	Start    string   `yaml:"start"` // watermark of the very first run
	// Expression (SQL) for the incremental column of sql sources, for
	// example COALESCE(updated_at, add_date).
	Column string `yaml:"column"`
}

// Defaults apply to every entity unless the entity sets its own.
type Defaults struct {
	BatchSize     int     `yaml:"batch_size"`
	MaxRecords    int     `yaml:"max_records"`
	OnInvalid     string  `yaml:"on_invalid"`
	Timezone      string  `yaml:"timezone"`
	DefaultRegion string  `yaml:"default_region"`
	Write         string  `yaml:"write"`
	MaxRejectRate float64 `yaml:"max_reject_rate"`
}

// Entity is one stream of records landing in one table.
type Entity struct {
	Name        string       `yaml:"-"`
	Description string       `yaml:"description"`
	Table       string       `yaml:"table"` // destination table; default <pipeline>_<entity>
	Request     *Request     `yaml:"request"`
	Records     string       `yaml:"records"`
	Paginate    *Paginate    `yaml:"paginate"`
	PrimaryKey  StringList   `yaml:"primary_key"`
	Incremental *Incremental `yaml:"incremental"`
	FullRefresh bool         `yaml:"full_refresh"`
	Parent      *Parent      `yaml:"parent"`
	Fields      Fields       `yaml:"fields"`
	Filter      string       `yaml:"filter"`
	Children    Children     `yaml:"children"`

	BatchSize     int     `yaml:"batch_size"`
	MaxRecords    int     `yaml:"max_records"`
	OnInvalid     string  `yaml:"on_invalid"`
	KeepRaw       bool    `yaml:"keep_raw"`
	Write         string  `yaml:"write"`          // upsert | append | replace
	DeleteMissing string  `yaml:"delete_missing"` // soft | hard
	MaxRejectRate float64 `yaml:"max_reject_rate"`

	// sql sources
	From    string     `yaml:"from"` // table name to read
	Columns StringList `yaml:"columns"`
	Where   string     `yaml:"where"`
	Query   string     `yaml:"query"`

	// file and github sources
	Path            string     `yaml:"path"`
	Format          string     `yaml:"format"`
	CSV             *CSVFormat `yaml:"csv"`
	RequiredColumns StringList `yaml:"required_columns"`
}

// Parent makes an entity iterate over the records of another entity
// (a substream): one request per parent record.
type Parent struct {
	Entity string `yaml:"entity"`
	// Key names the parent field stored in each child row as parent_<key>.
	Key string `yaml:"key"`
}

// Child emits rows into a child table from a nested array of each record.
type Child struct {
	Name       string     `yaml:"-"`
	From       string     `yaml:"from"` // expr or gjson path yielding an array
	Table      string     `yaml:"table"`
	PrimaryKey StringList `yaml:"primary_key"`
	Fields     Fields     `yaml:"fields"`
	Filter     string     `yaml:"filter"`
}

// Field is one column. A bare string in YAML is shorthand for {path: …}.
type Field struct {
	Name          string      `yaml:"-"`
	Path          string      `yaml:"path"`
	Type          string      `yaml:"type"`
	Expr          string      `yaml:"expr"`
	Default       any         `yaml:"default"`
	Format        StringList  `yaml:"format"`   // datetime/date layouts
	Timezone      string      `yaml:"timezone"` // zone of values without one
	DefaultRegion string      `yaml:"default_region"`
	Validate      []Validator `yaml:"validate"`
	OnInvalid     string      `yaml:"on_invalid"`
	Required      bool        `yaml:"required"`
}

// Validator is one link of a validation chain: a name and its argument
// (nil when the validator takes none).
type Validator struct {
	Name    string
	Arg     any
	Message string // custom message (expr validators)
}

// CSVFormat describes a delimited file.
type CSVFormat struct {
	Delimiter string     `yaml:"delimiter"`
	Quote     string     `yaml:"quote"`
	Comment   string     `yaml:"comment"`
	Header    *bool      `yaml:"header"`
	Columns   StringList `yaml:"columns"`
	SkipRows  int        `yaml:"skip_rows"`
	Encoding  string     `yaml:"encoding"`
	Required  StringList `yaml:"required_columns"`
}

// Duration is a time.Duration written as "500ms", "30s", "15m".
type Duration struct {
	time.Duration
	Set bool
}

// Secret is a string that never prints: String, GoString, MarshalJSON,
// MarshalText and MarshalYAML all redact it. Reveal gives the value to the
// code that sends it.
type Secret struct{ value string }

type yamlIgnore struct{}
