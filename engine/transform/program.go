// Package transform is the record path: for every source record it
// extracts fields (gjson), converts their types, computes expr fields in
// dependency order, runs validator chains, applies the filter and the
// on_invalid policy. Everything that can be decided when the file loads —
// paths, programs, chains, evaluation order — is decided by Compile; the
// per-record work is in processor.go.
package transform

import (
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/convert"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/jsonpick"
	"github.com/crmsync/crmsync/engine/validate"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/expr-lang/expr/vm"
)

// Policy is what happens to a value that fails conversion or validation.
type Policy uint8

const (
	Warn   Policy = iota // log, keep the value (a failed conversion stores null)
	Null                 // log, store null
	Reject               // the record goes to the rejects store
	Fail                 // the sync stops
)

// ParsePolicy reads an on_invalid value.
func ParsePolicy(s string) (Policy, bool) {
	switch s {
	case "", "warn":
		return Warn, true
	case "null":
		return Null, true
	case "reject":
		return Reject, true
	case "fail":
		return Fail, true
	}
	return Warn, false
}

var policyNames = [...]string{"warn", "null", "reject", "fail"}

func (p Policy) String() string { return policyNames[p] }

// PolicyNames are the values of on_invalid:.
func PolicyNames() []string { return policyNames[:] }

// step is one link of a validator chain.
type step struct {
	name    string
	v       validate.Validator
	prog    *vm.Program // expr validator
	message string
	nilOK   bool
}

// Field is a compiled field.
type Field struct {
	Name  string
	Type  value.Type
	Index int // column index

	path   string
	prog   *vm.Program // expr fields
	conv   *convert.Converter
	def    any
	steps  []step
	policy Policy
	inEnv  bool // some expression reads it
	// fromParent: the path reads the parent record of a substream
	// (written "_parent.<path>").
	fromParent bool
	slot       int  // index into the extractor's results
	strip      bool // poison: strip
	// alts are the paths tried in order when path finds nothing or null
	// (path: [org_id.value, org_id]).
	alts []altPath
	// region is the phone field's region_from path; regionSlot its slot.
	region *altPath
}

// altPath is one fallback path of a field.
type altPath struct {
	path       string
	fromParent bool
	slot       int
}

// Options are what Compile needs besides the fields.
type Options struct {
	Pipeline string
	Entity   string
	Path     string // JSON pointer of the entity or child ("/entities/contacts")
	Fields   config.Fields
	Filter   string
	// PrimaryKey names the fields that identify a record in log lines.
	PrimaryKey []string
	// BlankKeyOK: a blank primary key is not a reason to reject (an
	// append table, whose key only names records in log lines).
	BlankKeyOK bool
	OnInvalid  Policy
	Strict     bool // <PIPELINE>_STRICT_VALIDATION: warn becomes reject
	Timezone   *time.Location
	Region     string
	// Extra names more variables the expressions may read (a child's parent).
	Extra map[string]any
	// Lookups names the lookups expressions may read as lookup.<name>.
	Lookups []string
}

// Program is a compiled record path for one entity (or child table).
type Program struct {
	pipeline, entity string
	fields           []*Field
	order            []*Field // evaluation order: path fields, then expr fields by dependency
	filter           *vm.Program
	idIdx            []int
	keyNames         []string // the primary key fields, as idIdx
	blankKeyOK       bool
	usesRaw, usesCtx bool
	// raw is what the expressions read of raw: the member paths of
	// raw.a.b chains, looked up in the record's bytes, or the whole
	// record decoded with encoding/json where an expression needs all of
	// raw (raw alone, raw[x] with x not a constant string, "a" in raw,
	// keys(raw), $env). See jsonpick.
	raw           *jsonpick.Set
	envSample     map[string]any
	fieldNames    []string
	extract       *extractor // paths of the record
	parentExtract *extractor // _parent. paths
	usesLookup    bool       // an expression reads lookup
}

// StripsPoison reports whether any field is set to poison: strip.
func (p *Program) StripsPoison() bool {
	for _, f := range p.fields {
		if f.strip {
			return true
		}
	}
	return false
}

// Fields returns the compiled fields in column order.
func (p *Program) Fields() []*Field { return p.fields }

// Compile builds a Program and reports every problem it finds.
func Compile(o Options) (*Program, []diag.Problem) {
	c := &compiler{o: o, p: &Program{pipeline: o.Pipeline, entity: o.Entity}}
	c.compile()
	if hasError(c.problems) {
		return nil, c.problems
	}
	return c.p, c.problems
}

func hasError(ps []diag.Problem) bool {
	for _, p := range ps {
		if !p.Warning {
			return true
		}
	}
	return false
}

// UsesLookups reports whether an expression of the program reads lookup.
func (p *Program) UsesLookups() bool { return p != nil && p.usesLookup }
