// Package pipeline loads pipeline files and compiles them into plans. The
// same loader serves `crmsync lint`, `run` and `serve`: a file that lints
// clean is a file that runs.
//
// Loading goes: YAML (positions kept) → environment profile → ${…}
// interpolation → <PIPELINE>_<SETTING> overrides → JSON Schema check →
// decode → compile (fields, expressions, validators, sources, tables).
package pipeline

import (
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/redact"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/crmsync/crmsync/engine/value"
)

// Plan is a compiled pipeline file, ready to run.
type Plan struct {
	File        string
	Name        string
	Description string
	Profile     string
	// Hash identifies the plan's content (after profile, interpolation and
	// overrides); history rows record it.
	Hash     string
	Schedule string
	Source   *config.Source
	Entities []*Entity
	// Lookups are the source's lookups, run at the start of each sync of
	// an entity whose expressions read them.
	Lookups []*Lookup

	redactor *strings.Replacer
}

// Lookup is one compiled lookup: a reader, and how its records are keyed.
type Lookup struct {
	Name   string
	Key    string // gjson path in each record; "" keeps the list
	Cache  time.Duration
	Source source.Opener
	// cacheKey names the cached records: the plan's hash and the lookup.
	cacheKey string
}

// Entity is one compiled entity.
type Entity struct {
	Name    string
	Path    string // JSON pointer in the file
	Config  *config.Entity
	Table   *sink.Table
	Program *transform.Program
	Source  source.Opener

	BatchSize     int
	MaxRecords    int
	Incremental   *Incremental
	FullRefresh   bool
	Children      []*Child
	Parent        string // name of the parent entity, for substreams
	MaxRejectRate float64
	// Partitions or PartitionRows (sql) split a full read into ranges of
	// the primary key (a partitioned backfill); zero: one stream.
	Partitions, PartitionRows int
	// Windows (http): the partitions are time windows from
	// Incremental.Start to the sync's start, Partitions of them or one
	// per PartitionEvery, read through {{ window.start }}/{{ window.end }}.
	Windows        bool
	PartitionEvery time.Duration
}

// Child is a compiled child table of an entity.
type Child struct {
	Name      string
	Table     *sink.Table
	Transform *transform.Child
	// ParentIdx are the parent's primary key columns; their values lead
	// every child row, under the same names.
	ParentIdx []int
	// Index: the child has no primary key of its own, so its position in
	// the array (_index) completes the key.
	Index bool
}

// Incremental is a compiled incremental setting.
type Incremental struct {
	Field    string
	Index    int // column index of the field
	Type     value.Type
	Format   string
	Lookback time.Duration
	Start    string
}

// Entity returns the entity of that name, or nil.
func (p *Plan) Entity(name string) *Entity {
	for _, e := range p.Entities {
		if e.Name == name {
			return e
		}
	}
	return nil
}

// Redact replaces every secret of the plan in s by [redacted].
func (p *Plan) Redact(s string) string {
	if p == nil || p.redactor == nil {
		return s
	}
	return p.redactor.Replace(s)
}

// newRedactor replaces every secret and every escaped or encoded form
// of it (see package redact).
func newRedactor(secrets []string) *strings.Replacer { return redact.Replacer(secrets) }
