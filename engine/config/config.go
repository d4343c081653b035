// Package config holds the pipeline file language as Go values: what a
// pipeline YAML file decodes into after interpolation, profiles and
// environment overrides, before it is compiled into a plan.
//
// config holds the shared skeleton only: each source kind owns its keys
// (package source's Kind), decoded into its own structs. The JSON Schema
// in schema/pipeline.schema.json is generated from both.
package config

import (
	"time"

	"go.yaml.in/yaml/v3"
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

// Source says where records come from. Type picks the reader, a source
// kind registered in package source; the kind owns every other key of
// source: (its settings struct lives in its own package, and the schema
// offers a source only its kind's keys).
type Source struct {
	Type string `yaml:"type"`
	// Node is the source: mapping as written; Settings the kind's
	// settings decoded from it (Document.DecodeSettings), a pointer to
	// the kind's struct.
	Node     *yaml.Node `yaml:"-"`
	Settings any        `yaml:"-"`
}

// UnmarshalYAML decodes type and keeps the mapping for the kind.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	type plain Source // no UnmarshalYAML: no recursion
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	s.Node = n
	return nil
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
	// Sorted says the source returns records in ascending order of the
	// field, so the watermark may advance with every batch; otherwise it
	// advances only when a sync completes.
	Sorted bool `yaml:"sorted"`
	// Expression (SQL) for the incremental column of sql sources, for
	// example COALESCE(updated_at, add_date).
	Column string `yaml:"column"`
	// Fallback (sql) is the column that dates rows whose incremental
	// column is NULL, for example add_date: they are read by a second
	// keyset (fallback, key) from its own watermark, never through an
	// expression that keeps an index from being used.
	Fallback string `yaml:"fallback"`
	// Joined (sql) are columns of a query that hold a joined table's
	// change time (tps.updated_at AS tps_updated_at): each is read as its
	// own keyset stream (column, key) from its own watermark, so a change
	// to the joined row alone re-reads the main rows it belongs to.
	Joined StringList `yaml:"joined"`
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
	PrimaryKey  StringList   `yaml:"primary_key"`
	Incremental *Incremental `yaml:"incremental"`
	FullRefresh bool         `yaml:"full_refresh"`
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
	// Partitions splits a full read (a first sync, --full, or every
	// run of an entity without incremental) into this many ranges of the
	// primary key, with boundaries at equal row counts, read in parallel;
	// each resumes on its own. Incremental runs stay one stream.
	Partitions int `yaml:"partitions"`
	// PartitionRows (sql) is Partitions by size: one partition per this
	// many rows (at least 1,000).
	PartitionRows int `yaml:"partition_rows"`
	// PartitionEvery (http) is Partitions by length: one time window per
	// this long (7d, 12h) from incremental.start to the sync's start.
	// An http entity's partitions are time windows: its request reads
	// {{ window.start }} and {{ window.end }}.
	PartitionEvery string `yaml:"partition_every"`

	// Parent makes the entity iterate over another entity's records (a
	// substream); only kinds that say so take it (source.Kind.Optional).
	Parent *Parent `yaml:"parent"`

	// Node is the entity's mapping as written; Settings the source
	// kind's settings decoded from it (its own keys), a pointer to the
	// kind's entity struct.
	Node     *yaml.Node `yaml:"-"`
	Settings any        `yaml:"-"`
}

// Parent makes an entity iterate over the records of another entity
// (a substream): one read per parent record, with {{ parent.<path> }}
// available to the request.
type Parent struct {
	Entity string `yaml:"entity"`
	// Batch, above 1, makes one read per batch of up to that many parent
	// records: {{ parent.<path> }} then reads a JSON array of them
	// ({{ parent.#.id }}), as batch APIs such as HubSpot's v4
	// associations batch read want.
	Batch int `yaml:"batch"`
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
	Fallbacks     []string    `yaml:"-"` // path: [a, b, …]: the paths after the first, tried in order
	Type          string      `yaml:"type"`
	Expr          string      `yaml:"expr"`
	Default       any         `yaml:"default"`
	DefaultText   string      `yaml:"-"`        // the default as written, for text fields
	Format        StringList  `yaml:"format"`   // datetime/date layouts
	Timezone      string      `yaml:"timezone"` // zone of values without one
	DefaultRegion string      `yaml:"default_region"`
	RegionFrom    string      `yaml:"region_from"` // phone: gjson path of the record's region (country code)
	Validate      []Validator `yaml:"validate"`
	OnInvalid     string      `yaml:"on_invalid"`
	Required      bool        `yaml:"required"`
	// Poison is "reject" (default) or "strip": what a NUL byte or bytes
	// that are not UTF-8 in the value do.
	Poison string `yaml:"poison"`
}

// Validator is one link of a validation chain: a name and its argument
// (nil when the validator takes none).
type Validator struct {
	Name    string
	Arg     any
	Message string // custom message (expr validators)
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
